package redis

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// pubReq is one Publish call waiting in a shard's queue.
type pubReq struct {
	ch   string
	data []byte
	opts backplane.PublishOptions

	res backplane.PublishResult
	err error

	done chan struct{} // closed when res and err are set
	lead chan struct{} // closed when this request's caller must send the next batch
}

// pubQueue batches concurrent Publish calls into pipelines without a
// goroutine of its own: the caller that finds the queue idle becomes the
// leader, sends up to PublishBatch queued requests (its own first) as one
// pipeline, and hands the lead to the caller of the oldest request still
// queued. One pipeline per server is in flight at a time, so calls keep
// their queue order, and a request waits at most for the batch before its
// own: the bounded delay of batching is one round trip, never a timer.
// A shard has Options.PublishLanes queues; a channel always uses the same
// one, so the calls for one channel keep their order.
type pubQueue struct {
	// mu guards the following fields.
	mu     sync.Mutex
	queue  []*pubReq
	leader bool // a caller is sending (or about to)
}

// do queues r and returns once it is done. A request still queued when
// ctx ends is withdrawn (never sent); one already sent is waited for, which
// the client's I/O timeout bounds.
func (b *Broker) do(ctx context.Context, s *shard, r *pubReq) {
	q := s.lane(r.ch)
	q.mu.Lock()
	q.queue = append(q.queue, r)
	lead := !q.leader
	q.leader = true
	q.mu.Unlock()
	if !lead {
		select {
		case <-r.done:
			return
		case <-r.lead:
		case <-ctx.Done():
			q.mu.Lock()
			withdrawn := false
			select {
			case <-r.lead: // handed the lead: must send, below
			default:
				for i, x := range q.queue {
					if x == r {
						q.queue = append(q.queue[:i], q.queue[i+1:]...)
						withdrawn = true
						break
					}
				}
			}
			q.mu.Unlock()
			if withdrawn {
				r.err = fmt.Errorf("backplane/redis: publish %s: %w", r.ch, ctx.Err())
				return
			}
			select {
			case <-r.done:
				return
			case <-r.lead:
			}
		}
	}
	// Leading: send one batch (r is its first request), then hand over.
	q.mu.Lock()
	n := min(len(q.queue), b.o.PublishBatch)
	batch := append([]*pubReq(nil), q.queue[:n]...)
	q.queue = q.queue[n:]
	q.mu.Unlock()
	b.sendBatch(context.WithoutCancel(ctx), s, batch)
	for _, x := range batch {
		close(x.done)
	}
	q.mu.Lock()
	if len(q.queue) > 0 {
		close(q.queue[0].lead)
	} else {
		q.leader = false
	}
	q.mu.Unlock()
}

// perCall is the most publications one script call carries: enough to
// amortize the call overhead (about 5 µs of Redis time), small enough that
// one call does not hold the server for long.
const perCall = 16

// sendBatch runs the publish script for every request, perCall
// publications per call, all calls in one pipeline.
func (b *Broker) sendBatch(ctx context.Context, s *shard, batch []*pubReq) {
	b.m.batchSize.Observe(float64(len(batch)))
	per := perCall
	if b.cluster != nil {
		per = 1 // the keys of one script call must share a slot
	}
	groups := make([][]*pubReq, 0, (len(batch)+per-1)/per)
	for len(batch) > 0 {
		n := min(len(batch), per)
		groups = append(groups, batch[:n])
		batch = batch[n:]
	}
	cmds := b.runPublish(ctx, s, groups, false)
	var retry [][]*pubReq
	var retryIdx []int
	for i, c := range cmds {
		if goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, groups[i])
			retryIdx = append(retryIdx, i)
		}
	}
	if len(retry) > 0 {
		// The script cache is empty (server restarted): those calls did
		// nothing; send them again with the script text.
		for j, c := range b.runPublish(ctx, s, retry, true) {
			cmds[retryIdx[j]] = c
		}
	}
	for i, c := range cmds {
		res, err := parsePublish(c, len(groups[i]))
		for k, r := range groups[i] {
			switch {
			case err != nil:
				r.err = wrap("publish "+r.ch, err)
				b.m.pubError.Inc()
			case res[k].Duplicate:
				r.res = res[k]
				b.m.pubDuplicate.Inc()
			default:
				r.res = res[k]
				b.m.pubStored.Inc()
			}
		}
	}
}

func (b *Broker) runPublish(ctx context.Context, s *shard, groups [][]*pubReq, eval bool) []*goredis.Cmd {
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(groups))
	maxLen := strconv.Itoa(b.o.HistorySize)
	ttl := strconv.FormatInt(b.ttlSec, 10)
	for i, g := range groups {
		keys := make([]string, 0, 2*len(g))
		args := make([]any, 0, 3+5*len(g))
		args = append(args, maxLen, ttl, b.publishCmd())
		for _, r := range g {
			keys = append(keys, b.streamKey(r.ch), b.metaKey(r.ch))
			args = append(args, r.data, b.pubsubName(r.ch), newEpoch(), r.opts.SpoolID, r.opts.Seq)
		}
		if eval {
			cmds[i] = b.publish.Eval(ctx, pipe, keys, args...)
		} else {
			cmds[i] = b.publish.EvalSha(ctx, pipe, keys, args...)
		}
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	return cmds
}

// parsePublish decodes the results of one script call of n publications.
// A failed call fails all of them; the ones before the failure may be
// stored (a retry with the same spool id and seq is harmless).
func parsePublish(c *goredis.Cmd, n int) ([]backplane.PublishResult, error) {
	v, err := c.Slice()
	if err != nil {
		return nil, err
	}
	if len(v) != 3*n {
		return nil, fmt.Errorf("publish script returned %d values for %d publications", len(v), n)
	}
	res := make([]backplane.PublishResult, n)
	for i := range res {
		epoch, ok1 := v[3*i].(string)
		off, ok2 := v[3*i+1].(int64)
		dup, ok3 := v[3*i+2].(int64)
		if !ok1 || !ok2 || !ok3 || off < 0 {
			return nil, fmt.Errorf("publish script returned %#v", v[3*i:3*i+3])
		}
		res[i] = backplane.PublishResult{
			Position:  backplane.Position{Epoch: epoch, Offset: uint64(off)},
			Duplicate: dup == 1,
		}
	}
	return res, nil
}

// Publish stores data in ch's stream and notifies subscribed hubs in one
// script call, batched with concurrent calls to the same server. When it
// returns nil the publication is in Redis (durable as far as the server's
// persistence settings go). Errors of an unreachable server wrap
// backplane.ErrUnavailable; the publication may or may not have been
// stored then, which a retry with the same spool id and seq makes harmless.
// data must not be modified until Publish returns.
func (b *Broker) Publish(ctx context.Context, ch string, data []byte, opts backplane.PublishOptions) (backplane.PublishResult, error) {
	if err := ctx.Err(); err != nil {
		return backplane.PublishResult{}, fmt.Errorf("backplane/redis: publish %s: %w", ch, err)
	}
	if !b.enter() {
		return backplane.PublishResult{}, backplane.ErrClosed
	}
	defer b.inflight.Done()
	r := &pubReq{ch: ch, data: data, opts: opts, done: make(chan struct{}), lead: make(chan struct{})}
	b.do(ctx, b.shardFor(ch), r)
	return r.res, r.err
}
