package spool_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeplane/edgeplane/agent/spool"
	"github.com/edgeplane/edgeplane/internal/frame"
)

func TestAppendNextAckReopen(t *testing.T) {
	dir := t.TempDir()
	opts := &spool.Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Logger: testLogger(t)}
	s := mustOpen(t, opts)
	id := s.ID()
	if len(id) != 32 {
		t.Fatalf("ID() = %q, want 32 hex digits", id)
	}
	if got := s.FirstSeq(); got != 1 {
		t.Fatalf("FirstSeq of a new spool = %d, want 1", got)
	}
	recs := appendN(t, s, 100)
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("Append %d got seq %d", i, r.Seq)
		}
	}
	if n := len(segFiles(t, dir)); n < 4 {
		t.Fatalf("100 records in 4 KiB segments made %d segments, want several", n)
	}
	if got := seqs(readAll(t, s, 0)); !slices.Equal(got, seqs(recs)) {
		t.Fatalf("Next from 0 = %v", got)
	}
	if got := seqs(readAll(t, s, 95)); !slices.Equal(got, []uint64{96, 97, 98, 99, 100}) {
		t.Fatalf("Next from 95 = %v", got)
	}
	// Byte limit: at least one record even if it alone is over the limit.
	got, err := s.Next(0, 0, 1)
	if err != nil || len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("Next(0, 0, 1) = %v, %v; want record 1 only", seqs(got), err)
	}
	got, _ = s.Next(0, 0, len(recs[0].Data)+len(recs[1].Data))
	if !slices.Equal(seqs(got), []uint64{1, 2}) {
		t.Fatalf("Next with the bytes of two records = %v", seqs(got))
	}

	var bytes60 int64
	for _, r := range recs[60:] {
		bytes60 += int64(len(r.Data))
	}
	if err := s.Ack(60); err != nil {
		t.Fatal(err)
	}
	if got := s.FirstSeq(); got != 61 {
		t.Fatalf("FirstSeq after Ack(60) = %d, want 61", got)
	}
	if st := s.Stats(); st.Records != 40 || st.Bytes != bytes60 || st.Dropped != 0 {
		t.Fatalf("Stats after Ack(60) = %+v, want 40 records, %d bytes", st, bytes60)
	}
	if got := readAll(t, s, 0); got[0].Seq != 61 {
		t.Fatalf("Next(0) after Ack(60) starts at %d, want 61", got[0].Seq)
	}
	if err := s.Ack(30); err != nil { // older ack: no-op
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.AppendFunc(payload); !errors.Is(err, spool.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}

	s = mustOpen(t, opts)
	defer s.Close()
	if s.ID() != id {
		t.Fatalf("ID after reopen = %s, want %s", s.ID(), id)
	}
	if got := s.FirstSeq(); got != 61 {
		t.Fatalf("FirstSeq after reopen = %d, want 61", got)
	}
	if got := seqs(readAll(t, s, 0)); len(got) != 40 || got[0] != 61 || got[39] != 100 {
		t.Fatalf("records after reopen = %v", got)
	}
	if st := s.Stats(); st.Records != 40 || st.Bytes != bytes60 {
		t.Fatalf("Stats after reopen = %+v", st)
	}
	if r := appendN(t, s, 1)[0]; r.Seq != 101 {
		t.Fatalf("first Append after reopen got seq %d, want 101", r.Seq)
	}
}

// A spool whose frames were all acknowledged, and whose old segments were
// deleted, must still continue its seqs after a restart or a reboot.
func TestFirstSeqAfterFullAck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		boot  string
		close bool
	}{
		{"restart", spool.BootID(), true},
		{"reboot after clean stop", "other-boot", true},
		{"kill -9", spool.BootID(), false},
		{"power cut", "other-boot", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := &spool.Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Logger: testLogger(t)}
			s, err := spool.OpenBoot(t.Context(), opts, spool.BootID())
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s, 80)
			if err := s.Ack(80); err != nil {
				t.Fatal(err)
			}
			if got := s.FirstSeq(); got != 81 {
				t.Fatalf("FirstSeq with everything acked = %d, want 81 (the next seq)", got)
			}
			if st := s.Stats(); st.Records != 0 || st.Bytes != 0 {
				t.Fatalf("Stats with everything acked = %+v", st)
			}
			if n := len(segFiles(t, dir)); n != 1 {
				t.Fatalf("%d segment files after full ack, want only the active one", n)
			}
			reopenDir := dir
			if !tc.close {
				reopenDir = filepath.Join(t.TempDir(), "crashed")
				copyDir(t, dir, reopenDir)
			}
			s.Close()
			s, err = spool.OpenBoot(t.Context(), &spool.Options{Dir: reopenDir, Logger: testLogger(t)}, tc.boot)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			first := s.FirstSeq()
			r := appendN(t, s, 1)[0]
			if first != r.Seq {
				t.Fatalf("FirstSeq of empty spool = %d, but the next Append got %d", first, r.Seq)
			}
			switch {
			case r.Seq <= 80:
				t.Fatalf("after %s the next seq is %d: repeats a seq handed out before", tc.name, r.Seq)
			case tc.close || tc.boot == spool.BootID():
				if r.Seq != 81 {
					t.Fatalf("after %s the next seq is %d, want 81 (no gap)", tc.name, r.Seq)
				}
			}
			if got := readAll(t, s, 0); len(got) != 1 {
				t.Fatalf("acked records came back: %v", seqs(got))
			}
		})
	}
}

func TestAckBeyondLastAppend(t *testing.T) {
	s := mustOpen(t, &spool.Options{Dir: t.TempDir(), Logger: testLogger(t)})
	defer s.Close()
	appendN(t, s, 5)
	if err := s.Ack(1000); err != nil {
		t.Fatal(err)
	}
	if got := s.FirstSeq(); got != 6 {
		t.Fatalf("FirstSeq = %d, want 6", got)
	}
	if r := appendN(t, s, 1)[0]; r.Seq != 6 {
		t.Fatalf("next seq %d, want 6", r.Seq)
	}
	if got := readAll(t, s, 0); !slices.Equal(seqs(got), []uint64{6}) {
		t.Fatalf("records = %v, want [6]", seqs(got))
	}
}

func TestBoundDropsOldest(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	var reports []spool.DropReport
	const maxBytes = 32 << 10
	s := mustOpen(t, &spool.Options{
		Dir: dir, SegmentBytes: 4 << 10, MaxBytes: maxBytes, Registerer: reg, Logger: testLogger(t),
		OnDrop: func(r spool.DropReport) { reports = append(reports, r) },
	})
	defer s.Close()

	recs := appendN(t, s, 600) // about 130 KiB of records into 32 KiB
	if got := diskBytes(t, dir); got > maxBytes {
		t.Fatalf("segments take %d bytes on disk, over MaxBytes %d", got, maxBytes)
	}
	st := s.Stats()
	first := s.FirstSeq()
	if st.Dropped == 0 || first != st.Dropped+1 {
		t.Fatalf("Stats %+v, FirstSeq %d: want the oldest %d dropped", st, first, first-1)
	}
	got := readAll(t, s, 0)
	if got[0].Seq != first || got[len(got)-1].Seq != 600 || len(got) != st.Records {
		t.Fatalf("held records %d..%d (%d), want %d..600 (%d)", got[0].Seq, got[len(got)-1].Seq, len(got), first, st.Records)
	}
	if len(reports) != 1 || reports[0].FirstSeq != 1 || reports[0].LastSeq < reports[0].FirstSeq ||
		reports[0].Records != reports[0].LastSeq-reports[0].FirstSeq+1 {
		t.Fatalf("OnDrop reports %+v, want one, starting at seq 1", reports)
	}
	if m := metric(t, reg, "edgeplane_spool_dropped_frames_total", "reason", "full"); m != float64(st.Dropped) {
		t.Fatalf("dropped_frames_total{full} = %v, Stats.Dropped = %d", m, st.Dropped)
	}
	if m := metric(t, reg, "edgeplane_spool_dropped_frames_total", "reason", "corrupt"); m != 0 {
		t.Fatalf("dropped_frames_total{corrupt} = %v", m)
	}
	if m := metric(t, reg, "edgeplane_spool_records"); m != float64(st.Records) {
		t.Fatalf("edgeplane_spool_records = %v, want %d", m, st.Records)
	}

	// The hub catches up: the episode ends; a new overflow is a new episode.
	if err := s.Ack(recs[len(recs)-1].Seq); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 600)
	if len(reports) != 2 {
		t.Fatalf("%d drop reports after a second overflow, want 2", len(reports))
	}
	if got := s.Stats().Dropped; got <= st.Dropped {
		t.Fatalf("Dropped did not grow: %d", got)
	}
	problems, err := promlint.NewWithMetricFamilies(gather(t, reg)).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func TestAppendedSignal(t *testing.T) {
	s := mustOpen(t, &spool.Options{Dir: t.TempDir(), Logger: testLogger(t)})
	defer s.Close()
	select {
	case <-s.Appended():
		t.Fatal("Appended signalled before any Append")
	default:
	}
	appendN(t, s, 3) // never blocks, coalesces to one signal
	select {
	case <-s.Appended():
	case <-time.After(10 * time.Second):
		t.Fatal("Appended not signalled after Append")
	}
	select {
	case <-s.Appended():
		t.Fatal("Appended holds more than one signal")
	default:
	}

	// A consumer waiting on Appended sees every record.
	done := make(chan []uint64)
	go func() {
		var got []uint64
		after := uint64(3)
		for len(got) < 50 {
			recs, err := s.Next(after, 0, 0)
			if err != nil {
				t.Error(err)
				break
			}
			for _, r := range recs {
				got = append(got, r.Seq)
				after = r.Seq
			}
			if len(recs) == 0 {
				<-s.Appended()
			}
		}
		done <- got
	}()
	appendN(t, s, 50)
	select {
	case got := <-done:
		if len(got) != 50 || got[0] != 4 || got[49] != 53 {
			t.Fatalf("consumer got %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("consumer did not see all records")
	}
}

func TestSyncPolicies(t *testing.T) {
	for _, tc := range []struct {
		sync string
		// fsyncs expected from 10 Appends, right away and after the interval.
		now, later func(n float64) bool
	}{
		{"always", func(n float64) bool { return n >= 10 }, func(n float64) bool { return n >= 10 }},
		{"never", func(n float64) bool { return n == 0 }, func(n float64) bool { return n == 0 }},
		{"1s", func(n float64) bool { return n == 0 }, func(n float64) bool { return n >= 1 && n <= 3 }},
	} {
		t.Run(tc.sync, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := prometheus.NewRegistry()
				s := mustOpen(t, &spool.Options{Dir: t.TempDir(), Sync: tc.sync, Registerer: reg, Logger: testLogger(t)})
				base := metric(t, reg, "edgeplane_spool_fsyncs_total")
				appendN(t, s, 10)
				if n := metric(t, reg, "edgeplane_spool_fsyncs_total") - base; !tc.now(n) {
					t.Fatalf("Sync %q: %v fsyncs right after 10 appends", tc.sync, n)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				if n := metric(t, reg, "edgeplane_spool_fsyncs_total") - base; !tc.later(n) {
					t.Fatalf("Sync %q: %v fsyncs 1.5 s after 10 appends", tc.sync, n)
				}
				before := metric(t, reg, "edgeplane_spool_fsyncs_total")
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if metric(t, reg, "edgeplane_spool_fsyncs_total") == before {
					t.Fatalf("Sync %q: Close did not fsync", tc.sync)
				}
			})
		})
	}
}

func TestOptionsInvalid(t *testing.T) {
	dir := t.TempDir()
	for name, opts := range map[string]*spool.Options{
		"nil":           nil,
		"no dir":        {},
		"tiny segment":  {Dir: dir, SegmentBytes: 100},
		"bound too low": {Dir: dir, SegmentBytes: 1 << 20, MaxBytes: 1 << 20},
		"many segments": {Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 30},
		"bad sync":      {Dir: dir, Sync: "sometimes"},
		"negative sync": {Dir: dir, Sync: "-1s"},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := spool.Open(t.Context(), opts); err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded", opts)
			}
		})
	}
}

func TestOneProcessAtATime(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, &spool.Options{Dir: dir})
	if _, err := spool.Open(t.Context(), &spool.Options{Dir: dir}); !errors.Is(err, spool.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	s.Close()
	s = mustOpen(t, &spool.Options{Dir: dir})
	s.Close()
}

func TestOpenCanceled(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, &spool.Options{Dir: dir})
	appendN(t, s, 3)
	s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := spool.Open(ctx, &spool.Options{Dir: dir}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a canceled ctx: %v", err)
	}
}

func TestFrameTooLarge(t *testing.T) {
	s := mustOpen(t, &spool.Options{Dir: t.TempDir(), SegmentBytes: 4 << 10, MaxBytes: 64 << 10})
	defer s.Close()
	if _, err := s.AppendFunc(func(uint64) []byte { return make([]byte, 8<<10) }); !errors.Is(err, spool.ErrTooLarge) {
		t.Fatalf("Append of 8 KiB into 4 KiB segments: %v, want ErrTooLarge", err)
	}
	if r := appendN(t, s, 1)[0]; r.Seq != 1 {
		t.Fatalf("a refused frame used up a seq: next is %d", r.Seq)
	}
}

// Same boot: the page cache survived, so a torn tail is a write the process
// did not finish, and seqs continue without a gap. Anything else is
// corruption, and seqs skip past the watermark.
func TestSameBootDamage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
		gap    bool
	}{
		{"torn header", func(t *testing.T, p string, n int64) { truncate(t, p, n+5) }, false},
		{"torn data", func(t *testing.T, p string, n int64) { truncate(t, p, n+spool.RecHeaderLen+3) }, false},
		{"bad checksum", func(t *testing.T, p string, n int64) { flip(t, p, n+spool.RecHeaderLen+1) }, true},
		{"zero tail", func(t *testing.T, p string, n int64) { zeroTail(t, p, n) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := &spool.Options{Dir: dir, Logger: testLogger(t)}
			s := mustOpen(t, opts)
			appendN(t, s, 9)
			seg := segFiles(t, dir)[0]
			fi, _ := os.Stat(seg)
			appendN(t, s, 1) // record 10 starts at fi.Size()
			crashed := filepath.Join(t.TempDir(), "crashed")
			copyDir(t, dir, crashed)
			s.Close()
			p := filepath.Join(crashed, filepath.Base(seg))
			tc.damage(t, p, fi.Size())

			s = mustOpen(t, &spool.Options{Dir: crashed, Logger: testLogger(t)})
			defer s.Close()
			if got := seqs(readAll(t, s, 0)); len(got) != 9 || got[8] != 9 {
				t.Fatalf("records after damage to record 10 = %v, want 1..9", got)
			}
			next := appendN(t, s, 1)[0].Seq
			if tc.gap && next <= spool.ReserveBlock {
				t.Fatalf("after %s the next seq is %d, want above the watermark", tc.name, next)
			}
			if !tc.gap && next != 10 {
				t.Fatalf("after %s the next seq is %d, want 10", tc.name, next)
			}
		})
	}
}

// A record that decays after Open is cut when read back, not returned.
func TestCorruptReadBack(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s := mustOpen(t, &spool.Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Registerer: reg, Logger: testLogger(t)})
	defer s.Close()
	recs := appendN(t, s, 60)
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	flip(t, segs[0], spool.SegHeaderLen+spool.RecHeaderLen+2) // record 1's data
	got := readAll(t, s, 0)
	if got[0].Seq == 1 {
		t.Fatal("a corrupt record was returned")
	}
	if last := got[len(got)-1].Seq; last != 60 {
		t.Fatalf("records after the damaged segment lost: last %d", last)
	}
	if m := metric(t, reg, "edgeplane_spool_dropped_frames_total", "reason", "corrupt"); m != float64(got[0].Seq-1) {
		t.Fatalf("dropped{corrupt} = %v, want %d", m, got[0].Seq-1)
	}
	if st := s.Stats(); st.Records != len(got) {
		t.Fatalf("Stats.Records = %d, %d readable", st.Records, len(got))
	}
	if r := appendN(t, s, 1)[0]; r.Seq != recs[len(recs)-1].Seq+1 {
		t.Fatalf("next seq %d", r.Seq)
	}
}

// Append(*frame.Frame) stores the agent-link encoding, ready to send.
func TestAppendFrame(t *testing.T) {
	probe, err := frame.AppendAgent(nil, &frame.Frame{Seq: 1, T0: 1, Samples: []frame.Sample{{Sensor: "t", Value: frame.Float(1)}}})
	if err != nil || len(probe) == 0 {
		t.Skipf("frame codec not available yet: %v", err)
	}
	s := mustOpen(t, &spool.Options{Dir: t.TempDir(), Logger: testLogger(t)})
	defer s.Close()
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	var want []*frame.Frame
	for i := range 5 {
		f := &frame.Frame{T0: t0 + int64(i)*1e9, Samples: []frame.Sample{
			{Sensor: "t", DT: 0, Value: frame.Rounded(21.5+float64(i), 0.01)},
			{Sensor: "door", DT: 1500, Value: frame.Bool(i%2 == 0)},
			{Sensor: "pulses", DT: 3000, Value: frame.Int(int64(i * 7))},
		}}
		r, err := s.Append(f)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != r.Seq || r.Seq != uint64(i+1) {
			t.Fatalf("Append set f.Seq %d, record seq %d, want %d", f.Seq, r.Seq, i+1)
		}
		want = append(want, f)
	}
	recs, err := s.Next(0, 0, 0)
	if err != nil || len(recs) != 5 {
		t.Fatalf("Next = %d records, %v", len(recs), err)
	}
	for i, r := range recs {
		msgs, err := frame.DecodeAgent(r.Data, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("record %d: DecodeAgent: %v (%d messages)", r.Seq, err, len(msgs))
		}
		f, ok := msgs[0].(*frame.Frame)
		if !ok {
			t.Fatalf("record %d decodes to %T", r.Seq, msgs[0])
		}
		if f.Seq != r.Seq || f.T0 != want[i].T0 || len(f.Samples) != 3 {
			t.Fatalf("record %d decodes to seq %d t0 %d %d samples", r.Seq, f.Seq, f.T0, len(f.Samples))
		}
		for j, smp := range f.Samples {
			w := want[i].Samples[j]
			if smp.Sensor != w.Sensor || smp.DT != w.DT || smp.Value.Float64() != w.Value.Float64() {
				t.Fatalf("record %d sample %d = %+v, want %+v", r.Seq, j, smp, w)
			}
		}
	}
}

func truncate(t *testing.T, p string, n int64) {
	t.Helper()
	if err := os.Truncate(p, n); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func zeroTail(t *testing.T, p string, off int64) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, fi.Size()-off+100), off); err != nil {
		t.Fatal(err)
	}
}

// One producer, one consumer that acknowledges what it read, and a reader
// of Stats and FirstSeq, all at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := mustOpen(t, &spool.Options{Dir: t.TempDir(), SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Sync: "5ms", Logger: testLogger(t)})
	const n = 2000
	var got []uint64
	var work, watch sync.WaitGroup
	work.Go(func() {
		for range n {
			if _, err := s.AppendFunc(payload); err != nil {
				t.Error(err)
				return
			}
		}
	})
	work.Go(func() {
		after := uint64(0)
		for len(got) < n {
			recs, err := s.Next(after, 50, 4<<10)
			if err != nil {
				t.Error(err)
				return
			}
			if len(recs) == 0 {
				select {
				case <-s.Appended():
				case <-time.After(10 * time.Second):
					t.Error("no Appended signal")
					return
				}
				continue
			}
			for _, r := range recs {
				if !bytes.Equal(r.Data, payload(r.Seq)) {
					t.Errorf("record %d differs", r.Seq)
				}
				got = append(got, r.Seq)
				after = r.Seq
			}
			if err := s.Ack(after); err != nil {
				t.Error(err)
				return
			}
		}
	})
	done := make(chan struct{})
	watch.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if st, first := s.Stats(), s.FirstSeq(); st.Records < 0 || first == 0 {
				t.Errorf("Stats %+v FirstSeq %d", st, first)
				return
			}
		}
	})
	work.Wait()
	close(done)
	watch.Wait()
	if len(got) != n || got[0] != 1 || got[n-1] != n {
		t.Fatalf("consumer read %d records", len(got))
	}
	if st := s.Stats(); st.Records != 0 || st.Dropped != 0 {
		t.Fatalf("Stats after everything acked: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeError(t *testing.T) {
	s := mustOpen(t, &spool.Options{Dir: t.TempDir()})
	defer s.Close()
	bad := errors.New("bad frame")
	if _, err := s.AppendEncoded(func([]byte, uint64) ([]byte, error) { return nil, bad }); !errors.Is(err, bad) {
		t.Fatalf("Append with a failing encoder: %v", err)
	}
	if _, err := s.AppendEncoded(func([]byte, uint64) ([]byte, error) { return nil, nil }); err == nil {
		t.Fatal("Append with an encoder that lost the buffer succeeded")
	}
	r := appendN(t, s, 1)[0]
	if r.Seq != 1 {
		t.Fatalf("failed encodes used up seqs: next is %d", r.Seq)
	}
	if got := readAll(t, s, 0); len(got) != 1 {
		t.Fatalf("records after failed encodes: %v", seqs(got))
	}
}
