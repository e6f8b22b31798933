package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// WalkOptions configure a Walk. The zero value walks between 0 and 100 in
// steps of at most 1, from 50, with seed 0.
type WalkOptions struct {
	ID         string        // channel id; default "walk"
	Kind       string        // announced kind; default "value"
	Unit       string        // announced unit
	Period     time.Duration // sampling period announced in Desc; default 1s
	Resolution float64       // announced resolution; default 0.01
	Min, Max   float64       // bounds; both 0 = 0 and 100
	Step       float64       // largest change per read; default 1% of Max-Min
	Start      *float64      // first value; default the middle of the bounds
	Seed       uint64        // same seed, same walk
}

// Walk is a bounded random walk: each Read moves the value by a uniform step
// in [-Step, Step], reflected at the bounds. The sequence depends only on the
// seed and the number of reads. It is safe for concurrent use.
type Walk struct {
	o WalkOptions

	mu     sync.Mutex // guards the fields below
	rng    *rand.Rand
	v      float64
	closed bool
}

var _ hw.Sensor = (*Walk)(nil)

// NewWalk returns a random-walk sensor; opts may be nil.
func NewWalk(opts *WalkOptions) (*Walk, error) {
	var o WalkOptions
	if opts != nil {
		o = *opts
	}
	if o.ID == "" {
		o.ID = "walk"
	}
	if o.Kind == "" {
		o.Kind = "value"
	}
	if o.Period == 0 {
		o.Period = time.Second
	}
	if o.Resolution == 0 {
		o.Resolution = 0.01
	}
	if o.Min == 0 && o.Max == 0 {
		o.Max = 100
	}
	if !(o.Max > o.Min) || math.IsInf(o.Max-o.Min, 0) {
		return nil, fmt.Errorf("sim: walk %s: max %v must be above min %v", o.ID, o.Max, o.Min)
	}
	if o.Step == 0 {
		o.Step = (o.Max - o.Min) / 100
	}
	if !(o.Step > 0) {
		return nil, fmt.Errorf("sim: walk %s: step %v must be positive", o.ID, o.Step)
	}
	if o.Period < 0 {
		return nil, fmt.Errorf("sim: walk %s: period %s is negative", o.ID, o.Period)
	}
	v := (o.Min + o.Max) / 2
	if o.Start != nil {
		v = *o.Start
		if v < o.Min || v > o.Max {
			return nil, fmt.Errorf("sim: walk %s: start %v is outside [%v, %v]", o.ID, v, o.Min, o.Max)
		}
	}
	return &Walk{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), v: v}, nil
}

// Describe implements hw.Sensor.
func (w *Walk) Describe() []hw.Desc {
	return []hw.Desc{{ID: w.o.ID, Kind: w.o.Kind, Unit: w.o.Unit, Period: w.o.Period, Resolution: w.o.Resolution}}
}

// Read implements hw.Sensor: it takes one step and returns the new value.
func (w *Walk) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("sim: walk %s: %w", w.o.ID, ErrClosed)
	}
	v := w.v + (2*w.rng.Float64()-1)*w.o.Step
	// Reflect at the bounds; Step may exceed the range, so clamp as well.
	if v > w.o.Max {
		v = 2*w.o.Max - v
	}
	if v < w.o.Min {
		v = 2*w.o.Min - v
	}
	w.v = math.Min(math.Max(v, w.o.Min), w.o.Max)
	return []hw.Reading{{ID: w.o.ID, Time: time.Now(), Value: w.v}}, nil
}

// Close implements hw.Sensor.
func (w *Walk) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	return nil
}
