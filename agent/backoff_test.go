package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffGrowth(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // always the ceiling
	b := &backoff{min: 500 * time.Millisecond, max: 30 * time.Second, rand: top}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := b.next(); got != w {
			t.Fatalf("attempt %d: delay %s, want %s", i, got, w)
		}
	}
	for range 100 { // no overflow however long the hub stays away
		if got := b.next(); got != 30*time.Second {
			t.Fatalf("after many attempts: %s", got)
		}
	}
	b.reset()
	if got := b.next(); got != 500*time.Millisecond {
		t.Fatalf("after reset: %s", got)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	cases := []struct {
		name     string
		min, max time.Duration
	}{
		{"defaults", DefaultReconnectMin, DefaultReconnectMax},
		{"equal bounds", time.Second, time.Second},
		{"huge max", time.Millisecond, 1000 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			b := &backoff{min: tc.min, max: tc.max, rand: r.Int64N}
			for attempt := range 64 {
				ceil := b.ceiling()
				var lo, hi time.Duration = ceil, 0
				for range 200 {
					b.attempt = attempt
					d := b.next()
					if d < 0 || d > ceil || ceil > tc.max {
						t.Fatalf("attempt %d: delay %s outside [0, %s]", attempt, d, ceil)
					}
					lo, hi = min(lo, d), max(hi, d)
				}
				// Full jitter: the draws spread over the whole range.
				if ceil >= 100*time.Millisecond && (lo > ceil/4 || hi < ceil*3/4) {
					t.Fatalf("attempt %d: delays in [%s, %s] of [0, %s] are not spread", attempt, lo, hi, ceil)
				}
			}
		})
	}
}

func TestReconnectLoopWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		b := &backoff{min: time.Second, max: 8 * time.Second, rand: func(n int64) int64 { return n - 1 }}
		start := time.Now()
		var at []time.Duration
		worked := map[int]bool{4: true} // the 5th connection works for a while
		attempt := func(context.Context) (bool, error) {
			at = append(at, time.Since(start))
			if len(at) == 8 {
				cancel()
			}
			return worked[len(at)-1], errors.New("test: hub away")
		}
		var delays []time.Duration
		reconnect(ctx, b, attempt, func(_ error, d time.Duration) { delays = append(delays, d) })
		s := time.Second
		wantAt := []time.Duration{0, 1 * s, 3 * s, 7 * s, 15 * s, 16 * s, 18 * s, 22 * s}
		if len(at) != len(wantAt) {
			t.Fatalf("attempts at %v, want %v", at, wantAt)
		}
		for i := range wantAt {
			if at[i] != wantAt[i] {
				t.Fatalf("attempts at %v, want %v (delays %v)", at, wantAt, delays)
			}
		}
	})
}
