package redis

import (
	"sync"

	"github.com/cespare/xxhash/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// shard is one standalone Redis server with its publish queue, pub/sub
// connection and the subscribed channels that hash to it.
type shard struct {
	addr   string
	client *goredis.Client
	q      pubQueue

	// mu guards the following fields.
	mu   sync.Mutex
	ps   *goredis.PubSub    // the connected pub/sub, nil while reconnecting
	subs map[string]*cursor // subscribed channels
}

// cursor is where delivery of a subscribed channel stands. A new cursor
// replaces the old one when a channel is subscribed again, so a delivery
// in progress for the old one can tell.
type cursor struct {
	pos       backplane.Position // last delivered publication (or the top at Subscribe)
	confirmed bool               // a subscription of this cursor was confirmed
}

func newShard(addr string, c *goredis.Client) *shard {
	return &shard{addr: addr, client: c, subs: make(map[string]*cursor)}
}

// shardFor picks ch's server by rendezvous (highest random weight) hashing:
// stable across hubs that list the same servers in any order, and adding a
// server moves only the channels it now wins.
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
