package agent

import (
	"context"
	"time"
)

// backoff computes reconnect delays: exponential growth from min to max
// with "full jitter" (each delay uniform in [0, ceiling]), so that a fleet
// of gateways cut off by the same hub restart does not reconnect in step.
type backoff struct {
	min, max time.Duration
	rand     func(n int64) int64 // uniform in [0, n)
	attempt  int
}

// ceiling is the upper bound of the next delay: min·2^attempt, at most max.
func (b *backoff) ceiling() time.Duration {
	if b.attempt >= 62 {
		return b.max
	}
	c := b.min << b.attempt
	if c <= 0 || c > b.max || c>>b.attempt != b.min {
		return b.max
	}
	return c
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	c := b.ceiling()
	if b.attempt < 62 {
		b.attempt++
	}
	return time.Duration(b.rand(int64(c) + 1))
}

// reset starts the growth again from min, after a connection that worked.
func (b *backoff) reset() { b.attempt = 0 }

// reconnect runs attempt until ctx ends, waiting a backoff delay after each
// one. attempt reports whether the connection worked for a while (then the
// delays start again from the minimum) and why it ended; onRetry hears of
// every ending with the delay chosen. It is the agent's only reconnect loop.
func reconnect(ctx context.Context, b *backoff, attempt func(context.Context) (worked bool, err error), onRetry func(err error, delay time.Duration)) {
	for ctx.Err() == nil {
		worked, err := attempt(ctx)
		if ctx.Err() != nil {
			return
		}
		if worked {
			b.reset()
		}
		d := b.next()
		onRetry(err, d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
