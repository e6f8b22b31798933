package spool_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/agent/spool"
)

var seedFlag = flag.Uint64("spool.seed", 0, "seed of the randomized spool tests (0: from the clock)")

func seedFor(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -spool.seed=%d)", seed, seed)
	return seed
}

// scratchDir is a temporary directory, in memory where the system has one:
// the power-loss cases damage files by hand, so they test recovery, not the
// disk, and a thousand cases of real fsyncs take half a minute.
func scratchDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "spooltest"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// recInfo is where a record sits in an intact segment.
type recInfo struct {
	seq      uint64
	off, end int64
}

type segInfo struct {
	name string
	data []byte
	recs []recInfo
}

// layout parses an intact spool directory.
func layout(t *testing.T, dir string) []segInfo {
	var out []segInfo
	for _, p := range segFiles(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		si := segInfo{name: filepath.Base(p), data: b}
		for off := int64(spool.SegHeaderLen); off < int64(len(b)); {
			n := int64(binary.LittleEndian.Uint32(b[off:]))
			seq := binary.LittleEndian.Uint64(b[off+8:])
			end := off + spool.RecHeaderLen + n
			si.recs = append(si.recs, recInfo{seq: seq, off: off, end: end})
			off = end
		}
		out = append(out, si)
	}
	return out
}

// template is a spool as a power cut may find it.
type template struct {
	dir    string
	segs   []segInfo
	state  []byte
	ack    uint64 // acknowledged before the cut
	maxSeq uint64 // highest seq handed out
	closed bool
}

func makeTemplate(t *testing.T, closed bool) *template {
	dir := scratchDir(t)
	s := mustOpen(t, &spool.Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Sync: "never"})
	recs := appendN(t, s, 160)
	if err := s.Ack(12); err != nil {
		t.Fatal(err)
	}
	tp := &template{dir: dir, ack: 12, maxSeq: recs[len(recs)-1].Seq, closed: closed}
	if closed {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tp.segs = layout(t, dir)
	var err error
	if tp.state, err = os.ReadFile(filepath.Join(dir, "state")); err != nil {
		t.Fatal(err)
	}
	if !closed {
		t.Cleanup(func() { s.Close() })
	}
	if len(tp.segs) < 6 {
		t.Fatalf("template has %d segments, want several", len(tp.segs))
	}
	return tp
}

// damage is one way a power cut or a failing card leaves the files.
type damageFn func(rng *rand.Rand, tp *template, dir string) string

func segPath(dir string, si segInfo) string { return filepath.Join(dir, si.name) }

func pickSeg(rng *rand.Rand, tp *template) segInfo { return tp.segs[rng.IntN(len(tp.segs))] }

func pickRec(rng *rand.Rand, si segInfo) recInfo { return si.recs[rng.IntN(len(si.recs))] }

func writeAt(dir, name string, b []byte, off int64) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		panic(err)
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var damages = map[string]damageFn{
	"cut anywhere": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		off := rng.Int64N(int64(len(si.data)) + 1)
		os.Truncate(segPath(dir, si), off)
		return fmt.Sprintf("%s cut at %d", si.name, off)
	},
	"cut in record header": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		r := pickRec(rng, si)
		off := r.off + 1 + rng.Int64N(spool.RecHeaderLen-1)
		os.Truncate(segPath(dir, si), off)
		return fmt.Sprintf("%s cut at %d in the header of %d", si.name, off, r.seq)
	},
	"cut in data": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		r := pickRec(rng, si)
		off := r.off + spool.RecHeaderLen + rng.Int64N(r.end-r.off-spool.RecHeaderLen)
		os.Truncate(segPath(dir, si), off)
		return fmt.Sprintf("%s cut at %d in the data of %d", si.name, off, r.seq)
	},
	"cut in segment header": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		off := rng.Int64N(spool.SegHeaderLen)
		os.Truncate(segPath(dir, si), off)
		return fmt.Sprintf("%s cut at %d in its header", si.name, off)
	},
	"flip byte": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		off := rng.Int64N(int64(len(si.data)))
		writeAt(dir, si.name, []byte{si.data[off] ^ byte(1+rng.IntN(255))}, off)
		return fmt.Sprintf("%s byte %d flipped", si.name, off)
	},
	"flip in record header": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		r := pickRec(rng, si)
		off := r.off + rng.Int64N(spool.RecHeaderLen)
		writeAt(dir, si.name, []byte{si.data[off] ^ byte(1<<rng.IntN(8))}, off)
		return fmt.Sprintf("%s bit flipped at %d in the header of %d", si.name, off, r.seq)
	},
	"garbage range": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		off := rng.Int64N(int64(len(si.data)))
		n := 1 + rng.IntN(64)
		writeAt(dir, si.name, randBytes(rng, n), off)
		return fmt.Sprintf("%s %d random bytes at %d", si.name, n, off)
	},
	"zero-filled tail": func(rng *rand.Rand, tp *template, dir string) string {
		// ext4 after a power cut: the size was updated, the data not.
		si := pickSeg(rng, tp)
		off := rng.Int64N(int64(len(si.data)))
		n := int64(len(si.data)) - off + rng.Int64N(4096)
		writeAt(dir, si.name, make([]byte, n), off)
		return fmt.Sprintf("%s zeros from %d, %d bytes", si.name, off, n)
	},
	"garbage after last record": func(rng *rand.Rand, tp *template, dir string) string {
		si := tp.segs[len(tp.segs)-1]
		n := 1 + rng.IntN(300)
		writeAt(dir, si.name, randBytes(rng, n), int64(len(si.data)))
		return fmt.Sprintf("%s %d random bytes appended", si.name, n)
	},
	"across segment boundary": func(rng *rand.Rand, tp *template, dir string) string {
		k := rng.IntN(len(tp.segs) - 1)
		a, b := tp.segs[k], tp.segs[k+1]
		na := 1 + rng.Int64N(int64(len(a.data))-1)
		nb := 1 + rng.Int64N(int64(len(b.data))-1)
		writeAt(dir, a.name, randBytes(rng, int(na)), int64(len(a.data))-na)
		writeAt(dir, b.name, randBytes(rng, int(nb)), 0)
		return fmt.Sprintf("last %d bytes of %s and first %d of %s random", na, a.name, nb, b.name)
	},
	"cut, later segments lost": func(rng *rand.Rand, tp *template, dir string) string {
		k := rng.IntN(len(tp.segs))
		si := tp.segs[k]
		off := rng.Int64N(int64(len(si.data)) + 1)
		os.Truncate(segPath(dir, si), off)
		for _, later := range tp.segs[k+1:] {
			os.Remove(segPath(dir, later))
		}
		return fmt.Sprintf("%s cut at %d, %d later segments gone", si.name, off, len(tp.segs)-k-1)
	},
	"segment lost": func(rng *rand.Rand, tp *template, dir string) string {
		si := pickSeg(rng, tp)
		os.Remove(segPath(dir, si))
		return fmt.Sprintf("%s gone", si.name)
	},
	"state slot damaged, tail cut": func(rng *rand.Rand, tp *template, dir string) string {
		slot := int64(rng.IntN(2)) * 4096
		off := slot + rng.Int64N(128)
		writeAt(dir, "state", []byte{tp.state[off] ^ 0xff}, off)
		si := tp.segs[len(tp.segs)-1]
		cut := rng.Int64N(int64(len(si.data)) + 1)
		os.Truncate(segPath(dir, si), cut)
		return fmt.Sprintf("state byte %d flipped, %s cut at %d", off, si.name, cut)
	},
}

// TestPowerLoss damages the files of a spool in more than a thousand ways
// and checks that it always opens, keeps every whole record before the
// damage, never returns a damaged record, never hands out a seq twice, and
// really cut the damage (records appended after it survive a reopen).
func TestPowerLoss(t *testing.T) {
	seed := seedFor(t)
	templates := []*template{makeTemplate(t, false), makeTemplate(t, true)}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range damages {
			if !yield(k) {
				return
			}
		}
	})
	const cases = 1024
	for i := range cases {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		tp := templates[i%2]
		name := names[rng.IntN(len(names))]
		ok := t.Run(fmt.Sprintf("%04d", i), func(t *testing.T) {
			dir := filepath.Join(scratchDir(t), "spool")
			copyDir(t, tp.dir, dir)
			what := damages[name](rng, tp, dir)
			t.Logf("%s (closed before the cut: %v): %s", name, tp.closed, what)
			if !checkPowerLoss(t, tp, dir) {
				t.FailNow()
			}
		})
		if !ok {
			break
		}
	}
}

func checkPowerLoss(t *testing.T, tp *template, dir string) bool {
	t.Helper()
	// What must survive: every record that ends before the first damaged
	// byte of its segment (and is not acknowledged).
	var must []uint64
	for _, si := range tp.segs {
		b, err := os.ReadFile(segPath(dir, si))
		d := int64(0)
		if err == nil {
			for d < int64(len(b)) && d < int64(len(si.data)) && b[d] == si.data[d] {
				d++
			}
		}
		for _, r := range si.recs {
			if r.end <= d && r.seq > tp.ack {
				must = append(must, r.seq)
			}
		}
	}
	reg := prometheus.NewRegistry()
	opts := &spool.Options{Dir: dir, SegmentBytes: 4 << 10, MaxBytes: 1 << 20, Sync: "never", Registerer: reg}
	s, err := spool.OpenBoot(t.Context(), opts, "rebooted")
	if err != nil {
		t.Errorf("Open: %v", err)
		return false
	}
	got := readAll(t, s, 0) // checks order and content
	gotSeqs := seqs(got)
	for _, m := range must {
		if _, ok := slices.BinarySearch(gotSeqs, m); !ok {
			t.Errorf("whole record %d before the damage is missing; have %v", m, gotSeqs)
			s.Close()
			return false
		}
	}
	if first := s.FirstSeq(); len(got) > 0 && first != got[0].Seq {
		t.Errorf("FirstSeq %d, first record %d", first, got[0].Seq)
	}
	added := appendN(t, s, 3)
	if added[0].Seq <= tp.maxSeq {
		t.Errorf("seq %d handed out again (up to %d were before the cut)", added[0].Seq, tp.maxSeq)
		s.Close()
		return false
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
		return false
	}
	// Reopen: the damage was cut, so nothing is cut now and the new
	// records follow the old ones.
	reg = prometheus.NewRegistry()
	opts.Registerer = reg
	s, err = spool.OpenBoot(t.Context(), opts, "rebooted")
	if err != nil {
		t.Errorf("second Open: %v", err)
		return false
	}
	defer s.Close()
	if cut := metric(t, reg, "edgeplane_spool_cut_bytes_total"); cut != 0 {
		t.Errorf("second open cut %v bytes: the first left damage behind", cut)
		return false
	}
	again := seqs(readAll(t, s, 0))
	want := append(slices.Clone(gotSeqs), seqs(added)...)
	if !slices.Equal(again, want) {
		t.Errorf("after reopen records %v, want %v", again, want)
		return false
	}
	if next := appendN(t, s, 1)[0].Seq; next != added[2].Seq+1 {
		t.Errorf("after a clean reopen next seq %d, want %d", next, added[2].Seq+1)
		return false
	}
	return true
}
