package redis

import (
	"context"
	"fmt"

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
	n, err := b.presenceShard().client.Publish(ctx, b.hubChannel(hub), data).Result()
	if err != nil {
		return wrap("send to hub "+hub, err)
	}
	if n == 0 {
		return fmt.Errorf("backplane/redis: send to hub %s: %w", hub, backplane.ErrNoHub)
	}
	return nil
}
