package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// hubChannel is the pub/sub channel of a hub's directed messages, on the
// first server (beside presence, which tells which hub holds a device).
func (b *Broker) hubChannel(hub string) string { return b.o.Prefix + ":hub:{" + hub + "}" }

// SendToHub publishes data on hub's channel. PUBLISH answers how many
// connections received it; none means no hub with that id is running (or
// its pub/sub connection is down right now): ErrNoHub.
func (b *Broker) SendToHub(ctx context.Context, hub string, data []byte) error {
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	c := b.presenceShard().client
	var cmd *goredis.IntCmd
	if b.cluster != nil {
		cmd = c.SPublish(ctx, b.hubChannel(hub), data)
	} else {
		cmd = c.Publish(ctx, b.hubChannel(hub), data)
	}
	n, err := cmd.Result()
	if err != nil {
		return wrap("send to hub "+hub, err)
	}
	if n == 0 {
		return fmt.Errorf("backplane/redis: send to hub %s: %w", hub, backplane.ErrNoHub)
	}
	return nil
}

type wireHub struct {
	ID       string `json:"id"`
	Region   string `json:"region,omitempty"`
	Addr     string `json:"addr,omitempty"`
	LastSeen int64  `json:"last_seen,omitempty"` // unix ns
}

func (b *Broker) hubKeys() []string {
	p := b.o.Prefix + ":hubs:{" + b.o.Region + "}:"
	return []string{p + "d", p + "x"}
}

// RegisterHub records h in the region's registry until ttl passes (in the
// Redis clock).
func (b *Broker) RegisterHub(ctx context.Context, h backplane.HubInfo, ttl time.Duration) error {
	if h.ID == "" || ttl <= 0 {
		return errors.New("backplane/redis: register hub: empty id or ttl <= 0")
	}
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	w := wireHub{ID: h.ID, Region: h.Region, Addr: h.Addr}
	if !h.LastSeen.IsZero() {
		w.LastSeen = h.LastSeen.UnixNano()
	}
	js, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("backplane/redis: register hub %s: %w", h.ID, err)
	}
	err = b.hubsRegistry.Run(ctx, b.presenceShard().client, b.hubKeys(), "set", h.ID, js, max(ttl.Milliseconds(), 1)).Err()
	if errors.Is(err, goredis.Nil) {
		err = nil
	}
	return wrap("register hub "+h.ID, err)
}

// UnregisterHub removes a hub's registry entry.
func (b *Broker) UnregisterHub(ctx context.Context, id string) error {
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	err := b.hubsRegistry.Run(ctx, b.presenceShard().client, b.hubKeys(), "del", id).Err()
	if errors.Is(err, goredis.Nil) {
		err = nil
	}
	return wrap("unregister hub "+id, err)
}

// Hubs lists the live hubs of the region, ordered by ID.
func (b *Broker) Hubs(ctx context.Context) ([]backplane.HubInfo, error) {
	if !b.enter() {
		return nil, backplane.ErrClosed
	}
	defer b.inflight.Done()
	vals, err := b.hubsRegistry.Run(ctx, b.presenceShard().client, b.hubKeys(), "list").Slice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, wrap("hubs", err)
	}
	hubs := make([]backplane.HubInfo, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // removed between the two reads of the script: cannot happen, it is atomic
		}
		var w wireHub
		if err := json.Unmarshal([]byte(s), &w); err != nil {
			return nil, fmt.Errorf("backplane/redis: hubs: %w", err)
		}
		h := backplane.HubInfo{ID: w.ID, Region: w.Region, Addr: w.Addr}
		if w.LastSeen != 0 {
			h.LastSeen = time.Unix(0, w.LastSeen)
		}
		hubs = append(hubs, h)
	}
	sort.Slice(hubs, func(i, j int) bool { return hubs[i].ID < hubs[j].ID })
	return hubs, nil
}
