package spool_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/agent/spool"
)

// payload is the deterministic record data of seq: 20..399 bytes.
func payload(seq uint64) []byte {
	r := rand.New(rand.NewPCG(seq, 0x5eed))
	b := make([]byte, 20+r.IntN(380))
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	copy(b, fmt.Sprintf("seq=%d;", seq))
	return b
}

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Output: t.Output(), Level: hclog.Debug})
}

func mustOpen(t testing.TB, opts *spool.Options) *spool.Spool {
	t.Helper()
	s, err := spool.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func appendN(t testing.TB, s *spool.Spool, n int) []queue.Record {
	t.Helper()
	var out []queue.Record
	for range n {
		r, err := s.AppendFunc(payload)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// readAll returns every record after `after`, in batches of 7 to exercise
// Next's limits, and checks order and content.
func readAll(t testing.TB, s *spool.Spool, after uint64) []queue.Record {
	t.Helper()
	var out []queue.Record
	for {
		recs, err := s.Next(after, 7, 0)
		if err != nil {
			t.Fatalf("Next(%d): %v", after, err)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			if r.Seq <= after {
				t.Fatalf("Next(%d) returned seq %d out of order", after, r.Seq)
			}
			if !bytes.Equal(r.Data, payload(r.Seq)) {
				t.Fatalf("record %d: data differs from what was appended", r.Seq)
			}
			after = r.Seq
		}
		out = append(out, recs...)
	}
}

func seqs(recs []queue.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// copyDir copies the regular files of src into a new dir: the spool's
// files as a crash leaves them, while the original stays open.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segFiles(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// metric returns the value of the metric called name (with the given
// label value, if any) in reg.
func metric(t testing.TB, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(label) == 2 && !hasLabel(m, label[0], label[1]) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("metric %s%s not found", name, strings.Join(label, "="))
	return 0
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}
