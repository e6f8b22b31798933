package redis

import (
	"context"
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// cmdClient is what the Broker needs of a go-redis client: a standalone
// *goredis.Client or a *goredis.ClusterClient (which routes each command by
// the slot of its first key).
type cmdClient interface {
	goredis.Scripter
	Pipeline() goredis.Pipeliner
	Publish(ctx context.Context, channel string, message any) *goredis.IntCmd
	SPublish(ctx context.Context, channel string, message any) *goredis.IntCmd
	HGetAll(ctx context.Context, key string) *goredis.MapStringStringCmd
	HGet(ctx context.Context, key, field string) *goredis.StringCmd
	HSet(ctx context.Context, key string, values ...any) *goredis.IntCmd
	Close() error
}

// shard is where commands for a channel go: one standalone server, or the
// whole cluster, with its publish queue.
type shard struct {
	addr   string
	client cmdClient
	lanes  []pubQueue  // Options.PublishLanes; a channel always uses the same lane
	sub    *subscriber // standalone: this server's pub/sub; nil on a cluster
}

// lane returns the publish queue of ch. One lane keeps the order of the
// calls for a channel (one pipeline in flight); several lanes let batches
// of different channels overlap, so the hub encodes and decodes while
// Redis executes.
func (s *shard) lane(ch string) *pubQueue {
	if len(s.lanes) == 1 {
		return &s.lanes[0]
	}
	return &s.lanes[xxhash.Sum64String(ch)%uint64(len(s.lanes))]
}

// subscriber is one pub/sub connection (to a standalone server, or to one
// cluster master with sharded pub/sub) and the channels subscribed on it.
type subscriber struct {
	addr    string
	client  *goredis.Client // where the pub/sub connection goes
	sharded bool            // SSUBSCRIBE (cluster) instead of SUBSCRIBE

	// mu guards the following fields.
	mu       sync.Mutex
	ps       *goredis.PubSub    // the connected pub/sub, nil while reconnecting
	subs     map[string]*cursor // subscribed channels
	presence bool               // also carries the region's presence channel
	hub      bool               // also carries this hub's channel
}

// cursor is where delivery of a subscribed channel stands. A new cursor
// replaces the old one when a channel is subscribed again, so a delivery
// in progress for the old one can tell.
type cursor struct {
	pos       backplane.Position // last delivered publication (or the top at Subscribe)
	confirmed bool               // a subscription of this cursor was confirmed
}

func newSubscriber(addr string, c *goredis.Client, sharded bool) *subscriber {
	return &subscriber{addr: addr, client: c, sharded: sharded, subs: make(map[string]*cursor)}
}

// subscribe sends SUBSCRIBE, or one SSUBSCRIBE per channel: the channels
// of one SSUBSCRIBE must share a slot (CROSSSLOT otherwise). Replies are
// read by the receive loop, so this costs no round trips.
func (s *subscriber) subscribe(ctx context.Context, ps *goredis.PubSub, names ...string) error {
	if !s.sharded {
		return ps.Subscribe(ctx, names...)
	}
	for _, n := range names {
		if err := ps.SSubscribe(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *subscriber) unsubscribe(ctx context.Context, ps *goredis.PubSub, names ...string) error {
	if !s.sharded {
		return ps.Unsubscribe(ctx, names...)
	}
	for _, n := range names {
		if err := ps.SUnsubscribe(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// shardFor picks ch's server by rendezvous (highest random weight) hashing:
// stable across hubs that list the same servers in any order, and adding a
// server moves only the channels it now wins. A cluster is one shard.
func (b *Broker) shardFor(ch string) *shard {
	if len(b.shards) == 1 {
		return b.shards[0]
	}
	var best *shard
	var bestScore uint64
	for _, s := range b.shards {
		d := xxhash.New()
		_, _ = d.WriteString(s.addr)
		_, _ = d.Write([]byte{0})
		_, _ = d.WriteString(ch)
		if score := d.Sum64(); best == nil || score > bestScore {
			best, bestScore = s, score
		}
	}
	return best
}

// subscriberFor returns the subscriber that carries the pub/sub channel
// name (whose hash tag is ch, the region or the hub id): the server of its
// shard, or on a cluster the master that owns its slot, created on first
// use and started by Run. Slot ownership is read when a subscriber is
// created; a slot migrated later is not followed (see the package doc).
func (b *Broker) subscriberFor(ctx context.Context, ch, name string) (*subscriber, error) {
	if b.cluster == nil {
		return b.shardFor(ch).sub, nil
	}
	node, err := b.cluster.MasterForKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("slot owner of %s: %w", name, err)
	}
	addr := node.Options().Addr
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.subscribers[addr]; s != nil {
		return s, nil
	}
	s := newSubscriber(addr, node, true)
	b.subscribers[addr] = s
	select {
	case b.subscribersChanged <- struct{}{}:
	default:
	}
	return s, nil
}

// allSubscribers lists the subscribers known now.
func (b *Broker) allSubscribers() []*subscriber {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*subscriber, 0, len(b.subscribers))
	for _, s := range b.subscribers {
		out = append(out, s)
	}
	return out
}
