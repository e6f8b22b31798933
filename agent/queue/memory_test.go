package queue_test

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func testFrame(i int) *frame.Frame {
	return &frame.Frame{T0: int64(i) * 1e9, Samples: []frame.Sample{{Sensor: "t", Value: frame.Rounded(20.87+float64(i)/100, 0.01)}}}
}

func newMemory(t *testing.T, o queue.MemoryOptions) (*queue.Memory, *prometheus.Registry, *syncBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	o.Registerer = reg
	o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	q, err := queue.NewMemory(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q, reg, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func seqs(rs []queue.Record) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.Seq)
	}
	return out
}

func TestMemoryAppendNextAck(t *testing.T) {
	q, _, _ := newMemory(t, queue.MemoryOptions{})
	if q.FirstSeq() != 1 || len(q.ID()) != 32 {
		t.Fatalf("empty queue: first %d id %q", q.FirstSeq(), q.ID())
	}
	for i := 1; i <= 5; i++ {
		f := testFrame(i)
		r, err := q.Append(f)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i) || f.Seq != uint64(i) {
			t.Fatalf("append %d: seq %d, frame seq %d", i, r.Seq, f.Seq)
		}
		msgs, err := frame.DecodeAgent(r.Data, nil)
		if err != nil || len(msgs) != 1 || msgs[0].(*frame.Frame).Seq != uint64(i) {
			t.Fatalf("record %d does not decode to its frame: %v %v", i, msgs, err)
		}
	}
	select {
	case <-q.Appended():
	default:
		t.Fatal("Appended not signalled")
	}
	size := len(mustNext(t, q, 0, 1, 1<<20)[0].Data)
	cases := []struct {
		name          string
		after         uint64
		max, maxBytes int
		want          []uint64
	}{
		{"all", 0, 10, 1 << 20, []uint64{1, 2, 3, 4, 5}},
		{"after", 3, 10, 1 << 20, []uint64{4, 5}},
		{"max", 1, 2, 1 << 20, []uint64{2, 3}},
		{"bytes", 0, 10, 2*size + 1, []uint64{1, 2}},
		{"at least one", 0, 10, 1, []uint64{1}},
		{"none after last", 5, 10, 1 << 20, nil},
	}
	for _, tc := range cases {
		if got := seqs(mustNext(t, q, tc.after, tc.max, tc.maxBytes)); !equal(got, tc.want) {
			t.Errorf("%s: Next(%d, %d, %d) = %v, want %v", tc.name, tc.after, tc.max, tc.maxBytes, got, tc.want)
		}
	}
	if err := q.Ack(3); err != nil {
		t.Fatal(err)
	}
	if q.FirstSeq() != 4 || q.Stats().Records != 2 {
		t.Fatalf("after Ack(3): first %d, %+v", q.FirstSeq(), q.Stats())
	}
	if got := seqs(mustNext(t, q, 0, 10, 1<<20)); !equal(got, []uint64{4, 5}) {
		t.Fatalf("Next(0) after Ack(3) = %v", got)
	}
	_ = q.Ack(5)
	if q.FirstSeq() != 6 || q.Stats().Records != 0 || q.Stats().Bytes != 0 {
		t.Fatalf("after Ack(5): first %d, %+v", q.FirstSeq(), q.Stats())
	}
	q.Close()
	if _, err := q.Append(testFrame(6)); err == nil {
		t.Fatal("Append after Close succeeded")
	}
}

func TestMemoryDropsOldest(t *testing.T) {
	probe, _, _ := newMemory(t, queue.MemoryOptions{})
	r, _ := probe.Append(testFrame(1))
	size := int64(len(r.Data))

	cases := []struct {
		name      string
		opts      queue.MemoryOptions
		wantFirst uint64
	}{
		{"by records", queue.MemoryOptions{MaxRecords: 3}, 8},
		{"by bytes", queue.MemoryOptions{MaxBytes: 4*size + size/2}, 7},
		{"newest kept when larger than the bound", queue.MemoryOptions{MaxBytes: 1}, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, reg, logs := newMemory(t, tc.opts)
			for i := 1; i <= 10; i++ {
				if _, err := q.Append(testFrame(i)); err != nil {
					t.Fatal(err)
				}
			}
			st := q.Stats()
			wantHeld := 10 - int(tc.wantFirst) + 1
			if q.FirstSeq() != tc.wantFirst || st.Records != wantHeld || st.Dropped != tc.wantFirst-1 {
				t.Fatalf("first %d, %+v; want first %d, %d held", q.FirstSeq(), st, tc.wantFirst, wantHeld)
			}
			held := mustNext(t, q, 0, 100, 1<<20)
			if held[0].Seq != tc.wantFirst || len(held) != wantHeld {
				t.Errorf("Next(0) = %v", seqs(held))
			}
			var sum int64
			for _, r := range held {
				sum += int64(len(r.Data))
			}
			if st.Bytes != sum || (tc.opts.MaxBytes > 1 && sum > tc.opts.MaxBytes) {
				t.Errorf("Stats.Bytes %d, held %d bytes, bound %d", st.Bytes, sum, tc.opts.MaxBytes)
			}
			if v := metricValue(t, reg, "edgeplane_agent_queue_dropped_frames_total"); v != float64(tc.wantFirst-1) {
				t.Errorf("dropped metric %v", v)
			}
			if n := strings.Count(logs.String(), "queue full"); n != 1 {
				t.Errorf("%d 'queue full' lines, want one per episode:\n%s", n, logs)
			}
			// The hub catches up: the episode ends with one line.
			_ = q.Ack(10)
			_, _ = q.Append(testFrame(11))
			if !strings.Contains(logs.String(), "queue no longer full") || !strings.Contains(logs.String(), "dropped_frames="+strconv.FormatUint(tc.wantFirst-1, 10)) {
				t.Errorf("no end-of-episode line:\n%s", logs)
			}
		})
	}
}

func TestMemoryMetricsLint(t *testing.T) {
	_, reg, _ := newMemory(t, queue.MemoryOptions{})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func mustNext(t *testing.T, q queue.Queue, after uint64, max, maxBytes int) []queue.Record {
	t.Helper()
	rs, err := q.Next(after, max, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.Metric[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
