package agent

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/hashicorp/go-hclog"
)

// batcher seals readings into FRAMEs (PROTOCOL.md, "Agent link", FRAME):
// one every flush interval, or sooner when max samples are waiting, and
// appends them to the queue. It is the queue's only producer.
type batcher struct {
	q     queue.Queue
	flush time.Duration
	max   int
	res   map[string]float64 // resolution per channel id
	log   hclog.Logger
	m     *metrics

	pend    []hw.Reading
	failing bool // appends are failing; logged once until one works
}

func (b *batcher) run(ctx context.Context, in <-chan hw.Reading) error {
	t := time.NewTicker(b.flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Keep what the samplers handed over: drain, then seal.
			for {
				select {
				case r := <-in:
					b.add(r)
				default:
					b.seal()
					return nil
				}
			}
		case r := <-in:
			b.add(r)
		case <-t.C:
			b.seal()
		}
	}
}

func (b *batcher) add(r hw.Reading) {
	b.pend = append(b.pend, r)
	if len(b.pend) >= b.max {
		b.seal()
	}
}

// seal turns the pending readings into one frame: t0 is the earliest
// reading's time, every dt counts µs from it, values are rounded to their
// channel's resolution.
func (b *batcher) seal() {
	if len(b.pend) == 0 {
		return
	}
	t0 := b.pend[0].Time
	for _, r := range b.pend[1:] {
		if r.Time.Before(t0) {
			t0 = r.Time
		}
	}
	f := &frame.Frame{T0: t0.UnixNano(), Samples: make([]frame.Sample, 0, len(b.pend))}
	for _, r := range b.pend {
		v, ok := toValue(r.Value, b.res[r.ID])
		if !ok {
			b.m.badValues.Inc()
			continue
		}
		f.Samples = append(f.Samples, frame.Sample{Sensor: r.ID, DT: uint64(r.Time.Sub(t0) / time.Microsecond), Value: v})
	}
	clear(b.pend)
	b.pend = b.pend[:0]
	if len(f.Samples) == 0 {
		return
	}
	// The order decoders return: a frame reads back as it was made.
	frame.SortSamples(f.Samples)
	if _, err := b.q.Append(f); err != nil {
		b.m.appendErrors.Inc()
		if !b.failing && !errors.Is(err, queue.ErrClosed) {
			b.log.Error("cannot queue frames; they are lost until this recovers", "error", err)
		}
		b.failing = true
		return
	}
	if b.failing {
		b.log.Info("queueing frames works again")
		b.failing = false
	}
	b.m.frames.Inc()
	b.m.samples.Add(float64(len(f.Samples)))
}

// toValue converts a driver's reading to a frame value; NaN, infinities
// and unknown types are refused.
func toValue(v any, res float64) (frame.Value, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return frame.Value{}, false
		}
		return frame.Rounded(x, res), true
	case float32:
		return toValue(float64(x), res)
	case bool:
		return frame.Bool(x), true
	case int:
		return frame.Int(int64(x)), true
	case int8:
		return frame.Int(int64(x)), true
	case int16:
		return frame.Int(int64(x)), true
	case int32:
		return frame.Int(int64(x)), true
	case int64:
		return frame.Int(x), true
	case uint:
		return toValue(uint64(x), res)
	case uint8:
		return frame.Int(int64(x)), true
	case uint16:
		return frame.Int(int64(x)), true
	case uint32:
		return frame.Int(int64(x)), true
	case uint64:
		if x > math.MaxInt64 {
			return frame.Float(float64(x)), true
		}
		return frame.Int(int64(x)), true
	}
	return frame.Value{}, false
}
