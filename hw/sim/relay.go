package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/edgeplane/edgeplane/hw"
)

// RelayOptions configure a Relay.
type RelayOptions struct {
	Name    string // actuator name used in commands; default "relay"
	Default bool   // safe level: the level at start and after Close
}

// Relay is a simulated relay: a bool that remembers the last level set.
// It is safe for concurrent use.
type Relay struct {
	o RelayOptions

	mu     sync.Mutex // guards the fields below
	level  bool
	closed bool
	sets   int
}

var _ hw.Actuator = (*Relay)(nil)

// NewRelay returns a relay at its default level; opts may be nil.
func NewRelay(opts *RelayOptions) (*Relay, error) {
	var o RelayOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "relay"
	}
	return &Relay{o: o, level: o.Default}, nil
}

// Name implements hw.Actuator.
func (r *Relay) Name() string { return r.o.Name }

// Set implements hw.Actuator; v must be a bool.
func (r *Relay) Set(ctx context.Context, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("sim: relay %s: level must be a bool, not %T", r.o.Name, v)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("sim: relay %s: %w", r.o.Name, ErrClosed)
	}
	r.level = b
	r.sets++
	return nil
}

// Get implements hw.Actuator: the current level, a bool.
func (r *Relay) Get(ctx context.Context) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.level, nil
}

// Sets reports how many times Set changed or confirmed the level.
func (r *Relay) Sets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sets
}

// Close implements hw.Actuator: back to the default level; idempotent.
func (r *Relay) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.level = r.o.Default
	r.closed = true
	return nil
}
