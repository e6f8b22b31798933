package memory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

var _ backplane.HubRegistry = (*Broker)(nil)

type hubEntry struct {
	info    backplane.HubInfo
	expires time.Time
}

// RegisterHub records h until ttl passes.
func (b *Broker) RegisterHub(ctx context.Context, h backplane.HubInfo, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: register hub %s: %w", h.ID, err)
	}
	if h.ID == "" || ttl <= 0 {
		return errors.New("backplane/memory: register hub: empty id or ttl <= 0")
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	b.hubs[h.ID] = hubEntry{info: h, expires: now.Add(ttl)}
	return nil
}

// UnregisterHub removes a hub's entry.
func (b *Broker) UnregisterHub(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: unregister hub %s: %w", id, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	delete(b.hubs, id)
	return nil
}

// Hubs lists the hubs whose entry has not expired, ordered by ID.
func (b *Broker) Hubs(ctx context.Context) ([]backplane.HubInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backplane/memory: hubs: %w", err)
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backplane.ErrClosed
	}
	hubs := make([]backplane.HubInfo, 0, len(b.hubs))
	for id, e := range b.hubs {
		if !now.Before(e.expires) {
			delete(b.hubs, id)
			continue
		}
		hubs = append(hubs, e.info)
	}
	sort.Slice(hubs, func(i, j int) bool { return hubs[i].ID < hubs[j].ID })
	return hubs, nil
}
