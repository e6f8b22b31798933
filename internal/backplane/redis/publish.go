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
	q := &s.q
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

// sendBatch runs the publish script for every request in one pipeline.
func (b *Broker) sendBatch(ctx context.Context, s *shard, batch []*pubReq) {
	b.m.batchSize.Observe(float64(len(batch)))
	cmds := b.runPublish(ctx, s, batch, false)
	var retry []*pubReq
	var retryIdx []int
	for i, c := range cmds {
		if goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, batch[i])
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
		r := batch[i]
		r.res, r.err = parsePublish(c)
		switch {
		case r.err != nil:
			r.err = wrap("publish "+r.ch, r.err)
			b.m.pubError.Inc()
		case r.res.Duplicate:
			b.m.pubDuplicate.Inc()
		default:
			b.m.pubStored.Inc()
		}
	}
}

func (b *Broker) runPublish(ctx context.Context, s *shard, batch []*pubReq, eval bool) []*goredis.Cmd {
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(batch))
	maxLen := strconv.Itoa(b.o.HistorySize)
	ttl := strconv.FormatInt(b.ttlSec, 10)
	for i, r := range batch {
		keys := []string{b.streamKey(r.ch), b.metaKey(r.ch)}
		args := []any{r.data, maxLen, ttl, b.pubsubName(r.ch), newEpoch(), r.opts.SpoolID, r.opts.Seq, "publish"}
		if eval {
			cmds[i] = b.publish.Eval(ctx, pipe, keys, args...)
		} else {
			cmds[i] = b.publish.EvalSha(ctx, pipe, keys, args...)
		}
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	return cmds
}

func parsePublish(c *goredis.Cmd) (backplane.PublishResult, error) {
	v, err := c.Slice()
	if err != nil {
		return backplane.PublishResult{}, err
	}
	if len(v) != 3 {
		return backplane.PublishResult{}, fmt.Errorf("publish script returned %d values", len(v))
	}
	epoch, ok1 := v[0].(string)
	off, ok2 := v[1].(int64)
	dup, ok3 := v[2].(int64)
	if !ok1 || !ok2 || !ok3 || off < 0 {
		return backplane.PublishResult{}, fmt.Errorf("publish script returned %#v", v)
	}
	return backplane.PublishResult{
		Position:  backplane.Position{Epoch: epoch, Offset: uint64(off)},
		Duplicate: dup == 1,
	}, nil
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
