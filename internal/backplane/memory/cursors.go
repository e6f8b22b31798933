package memory

import (
	"context"
	"fmt"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

var _ backplane.Cursors = (*Broker)(nil)

// GetCursor returns the position stored under name.
func (b *Broker) GetCursor(ctx context.Context, name string) (backplane.Position, bool, error) {
	if err := ctx.Err(); err != nil {
		return backplane.Position{}, false, fmt.Errorf("backplane/memory: get cursor %s: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.Position{}, false, backplane.ErrClosed
	}
	pos, ok := b.cursors[name]
	return pos, ok, nil
}

// SetCursor stores pos under name. Cursors live as long as the Broker,
// like the histories they point into.
func (b *Broker) SetCursor(ctx context.Context, name string, pos backplane.Position) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: set cursor %s: %w", name, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	b.cursors[name] = pos
	return nil
}
