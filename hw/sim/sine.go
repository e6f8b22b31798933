package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// SineOptions configure a Sine. The zero value is a wave between -1 and 1
// with a one minute period, sampled every second.
type SineOptions struct {
	ID         string        // channel id; default "sine"
	Kind       string        // announced kind; default "value"
	Unit       string        // announced unit; default ""
	Period     time.Duration // sampling period announced in Desc; default 1s
	Resolution float64       // announced resolution; default 0.01
	Amplitude  float64       // half the peak-to-peak swing; default 1
	Offset     float64       // centre of the wave
	WavePeriod time.Duration // period of the wave itself; default 1m
	Phase      float64       // phase shift in radians
}

// Sine is a simulated sensor whose value is
// Offset + Amplitude·sin(2π·t/WavePeriod + Phase), t being the reading time
// since the Unix epoch, so that two agents with the same settings agree.
// It is safe for concurrent use.
type Sine struct {
	o SineOptions

	mu     sync.Mutex // guards closed
	closed bool
}

var _ hw.Sensor = (*Sine)(nil)

// NewSine returns a sine sensor; opts may be nil.
func NewSine(opts *SineOptions) (*Sine, error) {
	var o SineOptions
	if opts != nil {
		o = *opts
	}
	if o.ID == "" {
		o.ID = "sine"
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
	if o.Amplitude == 0 {
		o.Amplitude = 1
	}
	if o.WavePeriod == 0 {
		o.WavePeriod = time.Minute
	}
	switch {
	case o.Period < 0:
		return nil, fmt.Errorf("sim: sine %s: period %s is negative", o.ID, o.Period)
	case o.WavePeriod < 0:
		return nil, fmt.Errorf("sim: sine %s: wave period %s is negative", o.ID, o.WavePeriod)
	case o.Resolution < 0 || math.IsNaN(o.Resolution):
		return nil, fmt.Errorf("sim: sine %s: resolution %v is negative", o.ID, o.Resolution)
	}
	return &Sine{o: o}, nil
}

// Describe implements hw.Sensor.
func (s *Sine) Describe() []hw.Desc {
	return []hw.Desc{{ID: s.o.ID, Kind: s.o.Kind, Unit: s.o.Unit, Period: s.o.Period, Resolution: s.o.Resolution}}
}

// At returns the wave's value at t.
func (s *Sine) At(t time.Time) float64 {
	wp := s.o.WavePeriod.Nanoseconds()
	// Reduce t modulo the wave period in integers first: float64 seconds
	// since 1970 would lose the sub-millisecond part.
	frac := float64(t.UnixNano()%wp) / float64(wp)
	return s.o.Offset + s.o.Amplitude*math.Sin(2*math.Pi*frac+s.o.Phase)
}

// Read implements hw.Sensor.
func (s *Sine) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	return []hw.Reading{{ID: s.o.ID, Time: now, Value: s.At(now)}}, nil
}

func (s *Sine) check(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("sim: sine %s: %w", s.o.ID, ErrClosed)
	}
	return ctx.Err()
}

// Close implements hw.Sensor.
func (s *Sine) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// ErrClosed is returned by reads and writes after Close.
var ErrClosed = errors.New("sim: closed")
