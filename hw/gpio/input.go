package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/gpio"
)

// Defaults of InputOptions.
const (
	DefaultInputPeriod = 10 * time.Second
	DefaultDebounce    = 20 * time.Millisecond
)

// pollInterval bounds how long Events waits for an edge before it looks at
// ctx again: periph's WaitForEdge takes a timeout, not a context, so a
// cancelled ctx is noticed at most this late.
const pollInterval = 200 * time.Millisecond

// InputOptions configures NewInput. The zero value is valid: level on both
// edges, 20 ms debounce, pull left as it is.
type InputOptions struct {
	// Name prefixes the channel id ("<name>.level"). It comes from the
	// block's name label, so it has no hcl tag. Default: the pin's name.
	Name string
	// Pin is the periph pin name ("GPIO17", "P1_11", "17"); hwreg looks it
	// up. NewInput takes the pin itself and ignores this field.
	Pin string `hcl:"pin"`
	// Pull is "up", "down", "none", or "" to keep the pin's current setting.
	Pull string `hcl:"pull,optional"`
	// Edge selects which changes Events reports: "both" (default),
	// "rising", "falling", or "none" (periodic Read only).
	Edge string `hcl:"edge,optional"`
	// Debounce is how long the level must stay put after an edge before
	// the change counts, in Go duration syntax. "" means 20ms, "0s" turns
	// debouncing off. Contacts (buttons, reed switches) bounce for a few
	// milliseconds; a clean logic signal needs none.
	Debounce string `hcl:"debounce,optional"`
	// ActiveLow inverts the reported value: true when the pin is low, as
	// for a button to ground with a pull-up.
	ActiveLow bool `hcl:"active_low,optional"`
	// Period is how often the agent samples the level with Read (the
	// events come in between). Default 10s.
	Period string `hcl:"period,optional"`
}

// Input is a GPIO input. Read may be called from any goroutine; at most one
// Events runs at a time. Cancel the Events ctx before Close.
type Input struct {
	pin       gpio.PinIn
	desc      hw.Desc
	edge      gpio.Edge
	debounce  time.Duration
	activeLow bool

	mu      sync.Mutex // guards the fields below
	running bool       // an Events call is in progress
	closed  bool
}

var _ hw.EventSensor = (*Input)(nil)

// NewInput configures p as an input with the pull and edge detection of
// opts (nil means defaults) and returns it as a sensor.
func NewInput(p gpio.PinIn, opts *InputOptions) (*Input, error) {
	if p == nil {
		return nil, errors.New("gpio: input: nil pin")
	}
	var o InputOptions
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = p.Name()
	}
	pull, err := ParsePull(o.Pull)
	if err != nil {
		return nil, fmt.Errorf("gpio: input %s: %w", name, err)
	}
	edge, err := ParseEdge(o.Edge, gpio.BothEdges)
	if err != nil {
		return nil, fmt.Errorf("gpio: input %s: %w", name, err)
	}
	debounce, err := ParseDuration("debounce", o.Debounce, DefaultDebounce)
	if err != nil {
		return nil, fmt.Errorf("gpio: input %s: %w", name, err)
	}
	period, err := ParseDuration("period", o.Period, DefaultInputPeriod)
	if err != nil {
		return nil, fmt.Errorf("gpio: input %s: %w", name, err)
	}
	if period == 0 {
		return nil, fmt.Errorf("gpio: input %s: period must be positive", name)
	}
	if err := p.In(pull, edge); err != nil {
		return nil, fmt.Errorf("gpio: input %s: configure %s: %w", name, p, err)
	}
	return &Input{
		pin: p,
		desc: hw.Desc{
			ID:     name + ".level",
			Kind:   "level",
			Period: period,
		},
		edge:      edge,
		debounce:  debounce,
		activeLow: o.ActiveLow,
	}, nil
}

// Describe returns the one channel, "<name>.level", a bool.
func (in *Input) Describe() []hw.Desc { return []hw.Desc{in.desc} }

// Read samples the pin once. The value is a bool: true for high (for low
// with ActiveLow).
func (in *Input) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := in.checkOpen(); err != nil {
		return nil, err
	}
	return []hw.Reading{{ID: in.desc.ID, Time: time.Now(), Value: in.value(in.pin.Read())}}, nil
}

// Events sends a reading each time the pin changes and then stays put for
// the debounce time. The reading's time is that of the first edge of the
// burst, the moment the contact moved. With edge "both" a burst that ends
// at the level it started from (a glitch) sends nothing; with "rising" or
// "falling" only settled high or low levels are sent.
//
// With edge "none" Events sends nothing and just waits for ctx, so a
// caller may run Events for every EventSensor alike.
//
// Events returns nil when ctx ends, and an error when the input is closed
// or another Events call is running.
func (in *Input) Events(ctx context.Context, out chan<- hw.Reading) error {
	in.mu.Lock()
	switch {
	case in.closed:
		in.mu.Unlock()
		return fmt.Errorf("gpio: input %s: %w", in.desc.ID, ErrClosed)
	case in.running:
		in.mu.Unlock()
		return fmt.Errorf("gpio: input %s: events already running", in.desc.ID)
	}
	in.running = true
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.running = false
		in.mu.Unlock()
	}()

	if in.edge == gpio.NoEdge {
		<-ctx.Done()
		return nil
	}
	last := in.pin.Read()
	for ctx.Err() == nil {
		if !in.pin.WaitForEdge(pollInterval) {
			continue
		}
		first := time.Now()
		// Wait until the pin has been quiet for the debounce time.
		for in.debounce > 0 && in.pin.WaitForEdge(in.debounce) {
			if ctx.Err() != nil {
				return nil
			}
		}
		l := in.pin.Read()
		switch in.edge {
		case gpio.BothEdges:
			if l == last {
				continue
			}
		case gpio.RisingEdge:
			if l != gpio.High {
				continue
			}
		case gpio.FallingEdge:
			if l != gpio.Low {
				continue
			}
		}
		last = l
		r := hw.Reading{ID: in.desc.ID, Time: first, Value: in.value(l)}
		select {
		case out <- r:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// Close stops using the pin: it turns edge detection off and halts it.
// Close is idempotent.
func (in *Input) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	in.closed = true
	if err := in.pin.Halt(); err != nil {
		return fmt.Errorf("gpio: input %s: halt: %w", in.desc.ID, err)
	}
	return nil
}

func (in *Input) value(l gpio.Level) bool { return bool(l) != in.activeLow }

func (in *Input) checkOpen() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return fmt.Errorf("gpio: input %s: %w", in.desc.ID, ErrClosed)
	}
	return nil
}
