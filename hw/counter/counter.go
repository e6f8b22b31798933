package counter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/gpio"
)

// DefaultPeriod is the counting window when Options.Period is empty. Long
// enough that one pulse per second still reads as 1 Hz ± 10 %, short enough
// to follow a changing flow.
const DefaultPeriod = 10 * time.Second

// pollInterval bounds how long the loop waits for an edge before it looks
// at ctx and the period boundary again (WaitForEdge takes no context).
const pollInterval = 200 * time.Millisecond

// ErrNoPeriod is returned by Read before the first period has ended.
var ErrNoPeriod = errors.New("counter: no period completed yet")

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
	// Period is the counting window, Go duration syntax; default 10s. The
	// rate's resolution is one pulse per period.
	Period string `hcl:"period,optional"`
	// Debounce ignores edges that come sooner than this after a counted
	// one ("5ms" for a reed switch). Default "" = off. It caps the rate
	// that can be counted at 1/debounce.
	Debounce string `hcl:"debounce,optional"`
}

// Counter is a pulse counter on one GPIO. At most one Events runs at a
// time; Read may be called from any goroutine. Cancel the Events ctx before
// Close.
type Counter struct {
	pin      gpio.PinIn
	desc     hw.Desc
	debounce time.Duration

	mu      sync.Mutex // guards the fields below
	last    hw.Reading // the last completed period; ID empty before
	running bool
	closed  bool
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
	pull, err := parsePull(o.Pull)
	if err != nil {
		return fail(err)
	}
	edge, err := parseEdge(o.Edge)
	if err != nil {
		return fail(err)
	}
	period, err := parseDuration("period", o.Period, DefaultPeriod)
	if err != nil {
		return fail(err)
	}
	if period == 0 {
		return fail(errors.New("period must be positive"))
	}
	debounce, err := parseDuration("debounce", o.Debounce, 0)
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

// Read returns the rate of the last completed period (with that period's
// end as its time), or ErrNoPeriod before Events has completed one.
func (c *Counter) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("counter: %s: closed", c.desc.ID)
	}
	if c.last.ID == "" {
		return nil, ErrNoPeriod
	}
	return []hw.Reading{c.last}, nil
}

// Events counts edges until ctx ends and sends one reading per period: the
// edges counted divided by the period's measured length, a float64 in Hz,
// timed at the period's end. It returns nil when ctx ends.
func (c *Counter) Events(ctx context.Context, out chan<- hw.Reading) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return fmt.Errorf("counter: %s: closed", c.desc.ID)
	case c.running:
		c.mu.Unlock()
		return fmt.Errorf("counter: %s: events already running", c.desc.ID)
	}
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()

	start := time.Now()
	next := start.Add(c.desc.Period)
	var n int
	var lastEdge time.Time
	for ctx.Err() == nil {
		wait := min(time.Until(next), pollInterval)
		if wait > 0 && c.pin.WaitForEdge(wait) {
			t := time.Now()
			if c.debounce == 0 || lastEdge.IsZero() || t.Sub(lastEdge) >= c.debounce {
				n++
				lastEdge = t
			}
		}
		now := time.Now()
		if now.Before(next) {
			continue
		}
		r := hw.Reading{ID: c.desc.ID, Time: now, Value: float64(n) / now.Sub(start).Seconds()}
		c.mu.Lock()
		c.last = r
		c.mu.Unlock()
		start, n = now, 0
		if next = next.Add(c.desc.Period); next.Before(now) {
			next = now.Add(c.desc.Period) // fell behind: start afresh
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return nil
		}
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

func parsePull(s string) (gpio.Pull, error) {
	switch s {
	case "":
		return gpio.PullNoChange, nil
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none", "float":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("pull %q: want up, down or none", s)
}

func parseEdge(s string) (gpio.Edge, error) {
	switch s {
	case "", "rising":
		return gpio.RisingEdge, nil
	case "falling":
		return gpio.FallingEdge, nil
	case "both":
		return gpio.BothEdges, nil
	}
	return gpio.NoEdge, fmt.Errorf("edge %q: want rising, falling or both", s)
}

func parseDuration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", field, s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q: must not be negative", field, s)
	}
	return d, nil
}
