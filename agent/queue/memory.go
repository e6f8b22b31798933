package queue

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("queue: closed")

// Defaults of MemoryOptions.
const (
	DefaultMemoryMaxBytes   = 16 << 20
	DefaultMemoryMaxRecords = 100_000
)

// MemoryOptions configure a Memory queue. The zero value holds up to 16 MiB
// or 100 000 frames, logs nowhere and registers no metrics.
type MemoryOptions struct {
	// MaxBytes bounds the encoded frames held; default 16 MiB. The newest
	// frame is always kept, even when it alone is larger.
	MaxBytes int64
	// MaxRecords bounds the number of frames held; default 100 000.
	MaxRecords int
	// Logger receives one warning when the queue starts dropping and one
	// line when an episode of drops ends.
	Logger hclog.Logger
	// Registerer receives the edgeplane_agent_queue_* metrics; nil = none.
	Registerer prometheus.Registerer
}

// Memory is a bounded in-memory Queue. When an Append takes it over its
// bound it drops the oldest frames (the overflow policy "drop oldest": the
// newest data is what a dashboard wants). Seqs start at 1 with every new
// Memory, which gets a new ID, so a hub never mistakes them for a replay.
// It is safe for concurrent use.
type Memory struct {
	o       MemoryOptions
	id      string
	log     hclog.Logger
	dropped prometheus.Counter
	signal  chan struct{}

	mu      sync.Mutex // guards the fields below
	recs    []Record   // recs[head:] are held, in seq order
	head    int
	bytes   int64
	next    uint64 // seq of the next Append
	drops   uint64 // ever
	episode uint64 // drops in the current episode; 0 = not dropping
	closed  bool
}

var _ Queue = (*Memory)(nil)

// NewMemory returns an empty queue with a fresh random ID; opts may be nil.
func NewMemory(opts *MemoryOptions) (*Memory, error) {
	var o MemoryOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMemoryMaxBytes
	}
	if o.MaxRecords == 0 {
		o.MaxRecords = DefaultMemoryMaxRecords
	}
	if o.MaxBytes < 0 || o.MaxRecords < 0 {
		return nil, fmt.Errorf("queue: bounds %d bytes, %d records must not be negative", o.MaxBytes, o.MaxRecords)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("queue: make id: %w", err)
	}
	m := &Memory{o: o, id: hex.EncodeToString(b[:]), log: o.Logger, next: 1, signal: make(chan struct{}, 1)}
	f := promauto.With(o.Registerer)
	m.dropped = f.NewCounter(prometheus.CounterOpts{
		Name: "edgeplane_agent_queue_dropped_frames_total",
		Help: "Frames the memory queue dropped, oldest first, because it was full.",
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgeplane_agent_queue_frames",
		Help: "Frames held in the memory queue, not yet acknowledged by a hub.",
	}, func() float64 { return float64(m.Stats().Records) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgeplane_agent_queue_bytes",
		Help: "Encoded bytes of the frames held in the memory queue.",
	}, func() float64 { return float64(m.Stats().Bytes) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgeplane_agent_queue_limit_bytes",
		Help: "Bound of the memory queue in bytes (max_bytes).",
	}, func() float64 { return float64(o.MaxBytes) })
	return m, nil
}

// ID implements Queue.
func (m *Memory) ID() string { return m.id }

// Append implements Queue.
func (m *Memory) Append(f *frame.Frame) (Record, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Record{}, ErrClosed
	}
	f.Seq = m.next
	data, err := frame.AppendAgent(nil, f)
	if err != nil {
		m.mu.Unlock()
		return Record{}, fmt.Errorf("queue: encode frame %d: %w", f.Seq, err)
	}
	r := Record{Seq: f.Seq, Data: data}
	m.next++
	m.recs = append(m.recs, r)
	m.bytes += int64(len(data))
	var dropped uint64
	for m.len() > 1 && (m.bytes > m.o.MaxBytes || m.len() > m.o.MaxRecords) {
		m.bytes -= int64(len(m.recs[m.head].Data))
		m.recs[m.head] = Record{}
		m.head++
		dropped++
	}
	m.compactLocked()
	m.drops += dropped
	started, ended := false, uint64(0)
	switch {
	case dropped > 0 && m.episode == 0:
		started = true
		m.episode = dropped
	case dropped > 0:
		m.episode += dropped
	case m.episode > 0:
		ended, m.episode = m.episode, 0
	}
	first := m.recs[m.head].Seq
	m.mu.Unlock()

	if dropped > 0 {
		m.dropped.Add(float64(dropped))
	}
	if started {
		m.log.Warn("queue full: dropping the oldest frames until the hub catches up",
			"max_bytes", m.o.MaxBytes, "max_frames", m.o.MaxRecords, "first_seq", first)
	}
	if ended > 0 {
		m.log.Info("queue no longer full", "dropped_frames", ended, "first_seq", first)
	}
	select {
	case m.signal <- struct{}{}:
	default:
	}
	return r, nil
}

func (m *Memory) len() int { return len(m.recs) - m.head }

// compactLocked moves the held records to the front once the dropped
// prefix is at least half of the slice, so memory stays proportional.
func (m *Memory) compactLocked() {
	if m.head > 0 && m.head >= len(m.recs)/2 {
		n := copy(m.recs, m.recs[m.head:])
		clear(m.recs[n:])
		m.recs = m.recs[:n]
		m.head = 0
	}
}

// Next implements Queue.
func (m *Memory) Next(after uint64, max, maxBytes int) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.recs[m.head:]
	if len(held) == 0 || max <= 0 {
		return nil, nil
	}
	// Seqs are contiguous from held[0].Seq.
	i := 0
	if after >= held[0].Seq {
		i = int(after - held[0].Seq + 1)
	}
	var out []Record
	size := 0
	for ; i < len(held) && len(out) < max; i++ {
		if len(out) > 0 && size+len(held[i].Data) > maxBytes {
			break
		}
		size += len(held[i].Data)
		out = append(out, held[i])
	}
	return out, nil
}

// Ack implements Queue.
func (m *Memory) Ack(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.len() > 0 && m.recs[m.head].Seq <= seq {
		m.bytes -= int64(len(m.recs[m.head].Data))
		m.recs[m.head] = Record{}
		m.head++
	}
	m.compactLocked()
	return nil
}

// FirstSeq implements Queue.
func (m *Memory) FirstSeq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.len() > 0 {
		return m.recs[m.head].Seq
	}
	return m.next
}

// Appended implements Queue.
func (m *Memory) Appended() <-chan struct{} { return m.signal }

// Stats implements Queue.
func (m *Memory) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Records: m.len(), Bytes: m.bytes, Dropped: m.drops}
}

// Close implements Queue: later Appends fail; what is held stays readable.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
