package counter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"periph.io/x/conn/v3/gpio"
)

// DefaultPeriod is the reading period (the counting window) when
// Options.Period is empty. Long enough that one pulse per second reads as
// 1 Hz ± 10 %, short enough to follow a changing flow.
const DefaultPeriod = 10 * time.Second

// pollInterval bounds how long the loop waits for an edge before it looks
// at ctx again (WaitForEdge takes no context).
const pollInterval = 200 * time.Millisecond

// ErrNotCounting is returned by Read while no Events call is counting.
var ErrNotCounting = errors.New("counter: not counting (Events is not running)")

// Options configures New. The zero value is valid: rising edges, 10 s
// periods, no debounce.
type Options struct {
	// Name prefixes the channel id ("<name>.rate"). It comes from the
	// block's name label, so it has no hcl tag. Default: the pin's name.
	Name string
	// Pin is the periph pin name; hwreg looks it up. New takes the pin
	// itself and ignores this field.
	Pin string `hcl:"pin"`
	// Pull is "up", "down", "none", or "" to keep the pin's setting. An
	// open-collector sensor (most flow meters) needs "up".
	Pull string `hcl:"pull,optional"`
	// Edge is the edge that counts: "rising" (default), "falling" or
	// "both" (two counts per pulse).
	Edge string `hcl:"edge,optional"`
	// Period is how often the agent reads the rate, Go duration syntax;
	// default 10s. The rate's resolution is one pulse per period.
	Period string `hcl:"period,optional"`
	// Debounce ignores edges that come sooner than this after a counted
	// one ("5ms" for a reed switch). Default "" = off. It caps the rate
	// that can be counted at 1/debounce.
	Debounce string `hcl:"debounce,optional"`
}

// Counter is a pulse counter on one GPIO. Events counts; Read turns the
// count into a rate. At most one Events runs at a time; Read may be called
// from any goroutine. Cancel the Events ctx before Close.
type Counter struct {
	pin      gpio.PinIn
	desc     hw.Desc
	debounce time.Duration

	mu       sync.Mutex // guards the fields below
	count    uint64     // edges counted since Events started
	lastN    uint64     // count at the previous Read
	lastT    time.Time  // time of the previous Read, or when counting began
	counting bool       // an Events call is in progress
	closed   bool
}

var _ hw.EventSensor = (*Counter)(nil)

// New configures p as an input with edge detection and returns a counter.
// opts may be nil.
func New(p gpio.PinIn, opts *Options) (*Counter, error) {
	if p == nil {
		return nil, errors.New("counter: nil pin")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = p.Name()
	}
	fail := func(err error) (*Counter, error) { return nil, fmt.Errorf("counter: %s: %w", name, err) }
	pull, err := hwgpio.ParsePull(o.Pull)
	if err != nil {
		return fail(err)
	}
	edge, err := hwgpio.ParseEdge(o.Edge, gpio.RisingEdge)
	if err != nil {
		return fail(err)
	}
	if edge == gpio.NoEdge {
		return fail(errors.New(`edge "none" counts nothing; want rising, falling or both`))
	}
	period, err := hwgpio.ParseDuration("period", o.Period, DefaultPeriod)
	if err != nil {
		return fail(err)
	}
	if period == 0 {
		return fail(errors.New("period must be positive"))
	}
	debounce, err := hwgpio.ParseDuration("debounce", o.Debounce, 0)
	if err != nil {
		return fail(err)
	}
	if debounce >= period {
		return fail(fmt.Errorf("debounce %v must be shorter than the period %v", debounce, period))
	}
	if err := p.In(pull, edge); err != nil {
		return fail(fmt.Errorf("configure %s: %w", p, err))
	}
	return &Counter{
		pin: p,
		desc: hw.Desc{
			ID:         name + ".rate",
			Kind:       "rate",
			Unit:       "Hz",
			Period:     period,
			Resolution: 1 / period.Seconds(),
		},
		debounce: debounce,
	}, nil
}

// Describe returns the one channel, "<name>.rate" in Hz.
func (c *Counter) Describe() []hw.Desc { return []hw.Desc{c.desc} }

// Read returns the rate since the previous Read (or since counting began):
// the edges counted divided by the time passed, a float64 in Hz. Reading at
// a steady period, as the agent does, gives the pulses per period; a
// changed period (sensor.interval) changes the window with it. Read fails
// with ErrNotCounting while Events is not running, since then no edge is
// seen.
func (c *Counter) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, fmt.Errorf("counter: %s: closed", c.desc.ID)
	case !c.counting:
		return nil, ErrNotCounting
	}
	now := time.Now()
	dt := now.Sub(c.lastT).Seconds()
	n := c.count - c.lastN
	c.lastN, c.lastT = c.count, now
	rate := 0.0
	if dt > 0 {
		rate = float64(n) / dt
	}
	return []hw.Reading{{ID: c.desc.ID, Time: now, Value: rate}}, nil
}

// Events counts edges until ctx ends; it sends nothing to out, the rate
// comes from Read. It returns nil when ctx ends, and an error when the
// counter is closed or another Events call is counting.
func (c *Counter) Events(ctx context.Context, out chan<- hw.Reading) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return fmt.Errorf("counter: %s: closed", c.desc.ID)
	case c.counting:
		c.mu.Unlock()
		return fmt.Errorf("counter: %s: events already running", c.desc.ID)
	}
	c.counting = true
	c.lastN, c.lastT = c.count, time.Now()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.counting = false
		c.mu.Unlock()
	}()

	var lastEdge time.Time
	for ctx.Err() == nil {
		if !c.pin.WaitForEdge(pollInterval) {
			continue
		}
		t := time.Now()
		if c.debounce > 0 && !lastEdge.IsZero() && t.Sub(lastEdge) < c.debounce {
			continue
		}
		lastEdge = t
		c.mu.Lock()
		c.count++
		c.mu.Unlock()
	}
	return nil
}

// Close halts the pin. It is idempotent.
func (c *Counter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if err := c.pin.Halt(); err != nil {
		return fmt.Errorf("counter: %s: halt: %w", c.desc.ID, err)
	}
	return nil
}
