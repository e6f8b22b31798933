package redis

import (
	"context"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// pubReq is one publication.
type pubReq struct {
	ch   string
	data []byte
	opts backplane.PublishOptions

	res backplane.PublishResult
	err error
}

// pubUnit is one Publish or PublishBatch call waiting in a shard's queue:
// publications of one channel, in order, that always travel in the same
// pipeline and script call.
type pubUnit struct {
	reqs []*pubReq

	done chan struct{} // closed when every request's res and err are set
	lead chan struct{} // closed when this unit's caller must send the next batch
}

func newUnit(reqs []*pubReq) *pubUnit {
	return &pubUnit{reqs: reqs, done: make(chan struct{}), lead: make(chan struct{})}
}

// pubQueue batches concurrent Publish calls into pipelines without a
// goroutine of its own: the caller that finds the queue idle becomes the
// leader, sends queued units (its own first) of up to PublishBatch
// publications in all as one pipeline, and hands the lead to the caller of
// the oldest unit still queued. One pipeline per server is in flight at a
// time, so calls keep their queue order, and a unit waits at most for the
// batch before its own: the bounded delay of batching is one round trip,
// never a timer. A shard has Options.PublishLanes queues; a channel always
// uses the same one, so the calls for one channel keep their order.
type pubQueue struct {
	// mu guards the following fields.
	mu     sync.Mutex
	queue  []*pubUnit
	leader bool // a caller is sending (or about to)
}

// do queues u and returns once it is done. A unit still queued when ctx
// ends is withdrawn (never sent); one already sent is waited for, which the
// client's I/O timeout bounds.
func (b *Broker) do(ctx context.Context, s *shard, u *pubUnit) {
	q := s.lane(u.reqs[0].ch)
	q.mu.Lock()
	q.queue = append(q.queue, u)
	lead := !q.leader
	q.leader = true
	q.mu.Unlock()
	if !lead {
		select {
		case <-u.done:
			return
		case <-u.lead:
		case <-ctx.Done():
			q.mu.Lock()
			withdrawn := false
			select {
			case <-u.lead: // handed the lead: must send, below
			default:
				for i, x := range q.queue {
					if x == u {
						q.queue = append(q.queue[:i], q.queue[i+1:]...)
						withdrawn = true
						break
					}
				}
			}
			q.mu.Unlock()
			if withdrawn {
				for _, r := range u.reqs {
					r.err = fmt.Errorf("backplane/redis: publish %s: %w", r.ch, ctx.Err())
				}
				return
			}
			select {
			case <-u.done:
				return
			case <-u.lead:
			}
		}
	}
	// Leading: send one batch (u is its first unit), then hand over.
	q.mu.Lock()
	n, size := 0, 0
	for _, x := range q.queue {
		if n > 0 && size+len(x.reqs) > b.o.PublishBatch {
			break
		}
		n++
		size += len(x.reqs)
	}
	units := append([]*pubUnit(nil), q.queue[:n]...)
	q.queue = q.queue[n:]
	q.mu.Unlock()
	batch := make([]*pubReq, 0, size)
	for _, x := range units {
		batch = append(batch, x.reqs...)
	}
	b.sendBatch(context.WithoutCancel(ctx), s, batch)
	for _, x := range units {
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

// perCall is the most publications one script call carries, unless one
// channel has more in the batch: enough to amortize the call overhead
// (about 5 µs of Redis time) and the meta hash read and write of a
// channel, small enough that one call does not hold the server for long
// (about 3 µs of Redis time per publication).
const perCall = 64

// pubCall is one script call: groups of publications of one channel each,
// in reqs one group after the other.
type pubCall struct {
	reqs   []*pubReq
	groups []int // length of each group
}

// sendBatch runs the publish script for every request: the batch grouped
// by channel (each channel's requests keep their order), up to perCall
// publications per call, all calls in one pipeline.
func (b *Broker) sendBatch(ctx context.Context, s *shard, batch []*pubReq) {
	b.m.batchSize.Observe(float64(len(batch)))
	calls := groupCalls(batch, perCall, b.cluster != nil)
	cmds := b.runPublish(ctx, s, calls, false)
	var retry []pubCall
	var retryIdx []int
	for i, c := range cmds {
		if goredis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, calls[i])
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
		err := parsePublish(c, calls[i])
		for _, r := range calls[i].reqs {
			switch {
			case err != nil:
				r.err = wrap("publish "+r.ch, err)
				b.m.pubError.Inc()
			case r.res.Duplicate:
				b.m.pubDuplicate.Inc()
			default:
				b.m.pubStored.Inc()
			}
		}
	}
}

// groupCalls groups batch by channel, in the order of each channel's first
// request, and packs the groups into calls of at most per publications. A
// group is never split: one script call carries all of a channel's
// publications of the pipeline, in order, so that a failed call can never
// leave a later publication of the channel stored and an earlier one not
// (see PublishBatch). A group larger
// than per gets a call of its own. With oneGroup (Redis Cluster: the keys of
// a call must share a slot) a call carries one group.
func groupCalls(batch []*pubReq, per int, oneGroup bool) []pubCall {
	var byCh [][]*pubReq
	if len(batch) > 1 {
		idx := make(map[string]int, len(batch))
		for _, r := range batch {
			i, ok := idx[r.ch]
			if !ok {
				i = len(byCh)
				idx[r.ch] = i
				byCh = append(byCh, nil)
			}
			byCh[i] = append(byCh[i], r)
		}
	} else {
		byCh = [][]*pubReq{batch}
	}
	var calls []pubCall
	var cur pubCall
	for _, g := range byCh {
		if len(cur.reqs) > 0 && (oneGroup || len(cur.reqs)+len(g) > per) {
			calls = append(calls, cur)
			cur = pubCall{}
		}
		cur.reqs = append(cur.reqs, g...)
		cur.groups = append(cur.groups, len(g))
	}
	if len(cur.reqs) > 0 {
		calls = append(calls, cur)
	}
	return calls
}

// publishArgs are the first script arguments (see broker_publish.lua):
// stream length, expiry and its refresh interval in milliseconds, and the
// notification command. The expiry is refreshed at most every 1/16 of the
// history ttl and set to ttl plus that, so a channel lives between its
// history ttl and 1/16 more after its last publication.
func (b *Broker) publishArgs() []any {
	ttl := b.ttlSec * 1000
	every := max(ttl/16, 1)
	return []any{b.o.HistorySize, ttl + every, every, b.publishCmd()}
}

func (b *Broker) runPublish(ctx context.Context, s *shard, calls []pubCall, eval bool) []*goredis.Cmd {
	pipe := s.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(calls))
	head := b.publishArgs()
	for i, c := range calls {
		keys := make([]string, 0, 2*len(c.groups))
		args := make([]any, 0, len(head)+3*len(c.groups)+3*len(c.reqs))
		args = append(args, head...)
		reqs := c.reqs
		for _, n := range c.groups {
			ch := reqs[0].ch
			keys = append(keys, b.streamKey(ch), b.metaKey(ch))
			args = append(args, b.pubsubName(ch), newEpoch(), n)
			for _, r := range reqs[:n] {
				args = append(args, r.data, r.opts.SpoolID, r.opts.Seq)
			}
			reqs = reqs[n:]
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

// parsePublish decodes the result of one script call into the res of its
// requests. A failed call fails all of them; the ones before the failure
// may be stored (a retry with the same spool id and seq is harmless).
func parsePublish(c *goredis.Cmd, call pubCall) error {
	v, err := c.Slice()
	if err != nil {
		return err
	}
	if len(v) != len(call.groups)+len(call.reqs) {
		return fmt.Errorf("publish script returned %d values for %d publications of %d channels",
			len(v), len(call.reqs), len(call.groups))
	}
	reqs := call.reqs
	for _, n := range call.groups {
		epoch, ok := v[0].(string)
		if !ok {
			return fmt.Errorf("publish script returned epoch %#v", v[0])
		}
		for k, r := range reqs[:n] {
			off, ok := v[1+k].(int64)
			if !ok || off == 0 {
				return fmt.Errorf("publish script returned offset %#v", v[1+k])
			}
			r.res = backplane.PublishResult{Position: backplane.Position{Epoch: epoch, Offset: uint64(off)}}
			if off < 0 {
				r.res = backplane.PublishResult{
					Position:  backplane.Position{Epoch: epoch, Offset: uint64(-off - 1)},
					Duplicate: true,
				}
			}
		}
		v, reqs = v[1+n:], reqs[n:]
	}
	return nil
}

// Publish stores data in ch's stream and notifies subscribed hubs in one
// script call, batched with concurrent calls to the same server. When it
// returns nil the publication is in Redis (durable as far as the server's
// persistence settings go). Errors of an unreachable server wrap
// backplane.ErrUnavailable; the publication may or may not have been
// stored then, which a retry with the same spool id and seq makes harmless.
// data must not be modified until Publish returns.
func (b *Broker) Publish(ctx context.Context, ch string, data []byte, opts backplane.PublishOptions) (backplane.PublishResult, error) {
	if err := b.start(ctx, ch); err != nil {
		return backplane.PublishResult{}, err
	}
	defer b.inflight.Done()
	r := &pubReq{ch: ch, data: data, opts: opts}
	b.do(ctx, b.shardFor(ch), newUnit([]*pubReq{r}))
	return r.res, r.err
}

// PublishBatch publishes msgs on ch in order: up to Options.PublishBatch of
// them in one script call of one pipeline (batched with concurrent calls
// like Publish), more in chunks of that size, each sent after the one
// before it succeeded. A chunk is one script call (groupCalls never splits
// a channel), so a failure cannot leave a later publication stored and an
// earlier one not. The Data of msgs must not be modified until it returns.
func (b *Broker) PublishBatch(ctx context.Context, ch string, msgs []backplane.Message) ([]backplane.PublishResult, error) {
	if err := b.start(ctx, ch); err != nil {
		return nil, err
	}
	defer b.inflight.Done()
	res := make([]backplane.PublishResult, 0, len(msgs))
	for len(msgs) > 0 {
		n := min(len(msgs), b.o.PublishBatch)
		reqs := make([]*pubReq, n)
		for i, m := range msgs[:n] {
			reqs[i] = &pubReq{ch: ch, data: m.Data, opts: m.Opts}
		}
		b.do(ctx, b.shardFor(ch), newUnit(reqs))
		for _, r := range reqs {
			if r.err != nil {
				return res, r.err
			}
			res = append(res, r.res)
		}
		msgs = msgs[n:]
	}
	return res, nil
}

// start checks that a publish may begin; on nil, the caller must call
// b.inflight.Done when it ends.
func (b *Broker) start(ctx context.Context, ch string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/redis: publish %s: %w", ch, err)
	}
	if !b.enter() {
		return backplane.ErrClosed
	}
	return nil
}
