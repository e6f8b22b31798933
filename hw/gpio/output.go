package gpio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/gpio"
)

// ErrClosed is returned by an Output or Input used after Close.
var ErrClosed = errors.New("closed")

// OutputOptions configures NewOutput. The zero value is valid: active high,
// safe level off.
type OutputOptions struct {
	// Name is the actuator's name, the "pin" argument of gpio.write
	// commands. It comes from the block's name label, so it has no hcl
	// tag. Default: the pin's name.
	Name string
	// Pin is the periph pin name; hwreg looks it up. NewOutput takes the
	// pin itself and ignores this field.
	Pin string `hcl:"pin"`
	// SafeLevel is the logical level applied when the output is created
	// and when it is closed (agent exit). Default false: off. Set it to
	// true only for loads that must stay on when nobody controls them.
	SafeLevel bool `hcl:"safe_level,optional"`
	// ActiveLow inverts the wire level: true drives the pin low, as most
	// relay boards want. The safe level is logical, so "off" stays off.
	ActiveLow bool `hcl:"active_low,optional"`
}

// Output is a GPIO output used as an actuator. Its methods may be called
// from any goroutine.
type Output struct {
	pin       gpio.PinOut
	name      string
	safe      bool
	activeLow bool

	mu     sync.Mutex // guards the fields below and the pin's level
	level  bool       // logical level last written
	closed bool
}

var _ hw.Actuator = (*Output)(nil)

// NewOutput takes p as an output and drives it to the safe level at once,
// before anything else can happen.
func NewOutput(p gpio.PinOut, opts *OutputOptions) (*Output, error) {
	if p == nil {
		return nil, errors.New("gpio: output: nil pin")
	}
	var o OutputOptions
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = p.Name()
	}
	out := &Output{pin: p, name: name, safe: o.SafeLevel, activeLow: o.ActiveLow}
	if err := out.writeLocked(o.SafeLevel); err != nil {
		return nil, err
	}
	return out, nil
}

// Name returns the actuator's name.
func (o *Output) Name() string { return o.name }

// Set drives the output. v is the logical level: a bool, the numbers 0 and
// 1, or one of the strings "on", "off", "high", "low", "true", "false",
// "1", "0" (commands arrive as JSON or CBOR, so all of these occur).
func (o *Output) Set(ctx context.Context, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	level, err := ParseLevel(v)
	if err != nil {
		return fmt.Errorf("gpio: output %s: %w", o.name, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("gpio: output %s: %w", o.name, ErrClosed)
	}
	return o.writeLocked(level)
}

// Get returns the logical level last written, as a bool.
func (o *Output) Get(ctx context.Context) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("gpio: output %s: %w", o.name, ErrClosed)
	}
	return o.level, nil
}

// Close drives the output back to its safe level; later Set calls fail.
// It does not halt or release the pin: a released line may float, and the
// point is that the safe level stays on the wire after the agent exits.
// Close is idempotent.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	return o.writeLocked(o.safe)
}

// writeLocked drives the pin to the logical level; o.mu is held (or o is
// not shared yet).
func (o *Output) writeLocked(level bool) error {
	if err := o.pin.Out(gpio.Level(level != o.activeLow)); err != nil {
		return fmt.Errorf("gpio: output %s: write %s: %w", o.name, o.pin, err)
	}
	o.level = level
	return nil
}

// ParseLevel turns a command argument into a logical level; see Set for
// what it accepts.
func ParseLevel(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		return numLevel(float64(x), v)
	case int64:
		return numLevel(float64(x), v)
	case uint64:
		return numLevel(float64(x), v)
	case float64:
		return numLevel(x, v)
	case string:
		switch strings.ToLower(x) {
		case "on", "high", "true", "1":
			return true, nil
		case "off", "low", "false", "0":
			return false, nil
		}
	}
	return false, fmt.Errorf("level %#v: want a bool, 0 or 1, on or off", v)
}

func numLevel(f float64, v any) (bool, error) {
	switch f {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("level %#v: want a bool, 0 or 1, on or off", v)
}
