package spool_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/agent/spool"
)

// FuzzOpenSegment puts arbitrary bytes where the first segment of a spool
// was. Open must succeed, return records in order, cut what it did not
// keep (a second open cuts nothing and returns the same), and continue
// seqs above everything it returned.
func FuzzOpenSegment(f *testing.F) {
	// Seeds: a whole segment of three records, and the same torn, zeroed
	// and with a flipped bit.
	dir := f.TempDir()
	s, err := spool.Open(f.Context(), &spool.Options{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	for range 3 {
		if _, err := s.AppendFunc(payload); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	seg, err := os.ReadFile(segFiles(f, dir)[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-7])
	f.Add(seg[:spool.SegHeaderLen+5])
	f.Add(append(seg[:len(seg):len(seg)], make([]byte, 64)...))
	flipped := append([]byte(nil), seg...)
	flipped[spool.SegHeaderLen+spool.RecHeaderLen] ^= 1
	f.Add(flipped)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		d := filepath.Join(scratchDir(t), "spool")
		copyDir(t, dir, d)
		name := filepath.Base(segFiles(t, dir)[0])
		if err := os.WriteFile(filepath.Join(d, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		opts := &spool.Options{Dir: d, Sync: "never"}
		s, err := spool.OpenBoot(t.Context(), opts, "fuzz")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		var got []uint64
		after := uint64(0)
		for {
			recs, err := s.Next(after, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if r.Seq <= after {
					t.Fatalf("seq %d after %d", r.Seq, after)
				}
				after = r.Seq
				got = append(got, r.Seq)
			}
		}
		r, err := s.AppendFunc(payload)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq <= after || r.Seq <= 3 {
			t.Fatalf("next seq %d, records up to %d were returned", r.Seq, after)
		}
		s.Close()
		reg := prometheus.NewRegistry()
		opts.Registerer = reg
		s, err = spool.OpenBoot(t.Context(), opts, "fuzz")
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		defer s.Close()
		if cut := metric(t, reg, "edgeplane_spool_cut_bytes_total"); cut != 0 {
			t.Fatalf("second open cut %v bytes", cut)
		}
		again, err := s.Next(0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) != len(got)+1 {
			t.Fatalf("second open returned %d records, first %d (+1 appended)", len(again), len(got))
		}
	})
}
