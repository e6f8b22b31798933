package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// ToggleOptions configure a Toggle. The zero value flips every 5 s.
type ToggleOptions struct {
	ID       string        // channel id; default "toggle"
	Kind     string        // announced kind; default "level"
	Period   time.Duration // polling period announced in Desc; 0 = events only
	Interval time.Duration // time between flips; default 5s
	Initial  bool          // level at the epoch (see Toggle)
}

// Toggle is a simulated GPIO input whose level flips every Interval. The
// level is a function of time: Initial during [0, Interval) after the Unix
// epoch, the opposite during the next Interval, and so on, so every flip
// falls on a multiple of Interval. It is an hw.EventSensor: Events delivers a
// reading at each flip, stamped with the flip's time, as a GPIO edge would.
// It is safe for concurrent use.
type Toggle struct {
	o ToggleOptions

	mu     sync.Mutex // guards closed
	closed bool
}

var _ hw.EventSensor = (*Toggle)(nil)

// NewToggle returns a toggle sensor; opts may be nil.
func NewToggle(opts *ToggleOptions) (*Toggle, error) {
	var o ToggleOptions
	if opts != nil {
		o = *opts
	}
	if o.ID == "" {
		o.ID = "toggle"
	}
	if o.Kind == "" {
		o.Kind = "level"
	}
	if o.Interval == 0 {
		o.Interval = 5 * time.Second
	}
	if o.Interval < 0 || o.Period < 0 {
		return nil, fmt.Errorf("sim: toggle %s: interval %s and period %s must not be negative", o.ID, o.Interval, o.Period)
	}
	return &Toggle{o: o}, nil
}

// Describe implements hw.Sensor.
func (t *Toggle) Describe() []hw.Desc {
	return []hw.Desc{{ID: t.o.ID, Kind: t.o.Kind, Period: t.o.Period}}
}

// At returns the level at tm.
func (t *Toggle) At(tm time.Time) bool {
	n := tm.UnixNano() / t.o.Interval.Nanoseconds()
	return (n%2 != 0) != t.o.Initial
}

// Read implements hw.Sensor.
func (t *Toggle) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	return []hw.Reading{{ID: t.o.ID, Time: now, Value: t.At(now)}}, nil
}

// Events implements hw.EventSensor: at every flip it sends the new level,
// stamped with the flip time, until ctx ends. It returns ctx's error.
func (t *Toggle) Events(ctx context.Context, out chan<- hw.Reading) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	iv := t.o.Interval
	for {
		now := time.Now()
		next := now.Truncate(iv).Add(iv)
		timer := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		r := hw.Reading{ID: t.o.ID, Time: next, Value: t.At(next)}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case out <- r:
		}
	}
}

func (t *Toggle) check(ctx context.Context) error {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return fmt.Errorf("sim: toggle %s: %w", t.o.ID, ErrClosed)
	}
	return ctx.Err()
}

// Close implements hw.Sensor.
func (t *Toggle) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return nil
}
