package spool_test

import (
	"fmt"
	"testing"

	"github.com/edgeplane/edgeplane/agent/spool"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// benchFrame is one second of a BME280 and a few GPIOs: 10 samples.
func benchFrame() *frame.Frame {
	f := &frame.Frame{T0: 1733318400123456789}
	for i := range 10 {
		f.Samples = append(f.Samples, frame.Sample{
			Sensor: fmt.Sprintf("s%d", i), DT: uint64(i) * 100_000, Value: frame.Rounded(20.87+float64(i)/100, 0.01),
		})
	}
	return f
}

// BenchmarkAppend measures Append of a 10-sample frame under each Sync
// policy, acknowledging as it goes so that the bound never drops.
func BenchmarkAppend(b *testing.B) {
	for _, policy := range []string{"always", "1s", "never"} {
		b.Run(policy, func(b *testing.B) {
			s, err := spool.Open(b.Context(), &spool.Options{Dir: b.TempDir(), Sync: policy})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			f := benchFrame()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r, err := s.Append(f)
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					b.SetBytes(int64(len(r.Data)))
				}
				if i%4096 == 4095 {
					if err := s.Ack(r.Seq); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkNext measures the uplink's read of a batch of 64 frames.
func BenchmarkNext(b *testing.B) {
	s, err := spool.Open(b.Context(), &spool.Options{Dir: b.TempDir(), Sync: "never"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f := benchFrame()
	for range 10000 {
		if _, err := s.Append(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	after := uint64(0)
	for b.Loop() {
		recs, err := s.Next(after, 64, 1<<20)
		if err != nil || len(recs) == 0 {
			b.Fatal(len(recs), err)
		}
		after = recs[len(recs)-1].Seq
		if after >= 9000 {
			after = 0
		}
	}
}

// BenchmarkAppendEncoded is BenchmarkAppend without the frame codec: the
// spool's own cost for a 143-byte record.
func BenchmarkAppendEncoded(b *testing.B) {
	data := make([]byte, 143)
	gen := func(uint64) []byte { return data }
	for _, policy := range []string{"always", "1s", "never"} {
		b.Run(policy, func(b *testing.B) {
			s, err := spool.Open(b.Context(), &spool.Options{Dir: b.TempDir(), Sync: policy})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; b.Loop(); i++ {
				r, err := s.AppendFunc(gen)
				if err != nil {
					b.Fatal(err)
				}
				if i%4096 == 4095 {
					if err := s.Ack(r.Seq); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
