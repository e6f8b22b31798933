package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// agent publishes seq 1..n on its device channel like an agent with a
// spool: each frame is resent until Publish succeeds (the hub ACKs only
// then), so frames wait while Redis is down.
func agent(ctx context.Context, b backplane.Broker, dev string, n int, acked *sync.Map, errs chan<- error) {
	spool := "spool-" + dev
	ch := "dev/" + dev
	for seq := 1; seq <= n; seq++ {
		for {
			if ctx.Err() != nil {
				errs <- ctx.Err()
				return
			}
			_, err := b.Publish(ctx, ch, fmt.Appendf(nil, "%s %d", dev, seq), backplane.PublishOptions{SpoolID: spool, Seq: uint64(seq)})
			if err == nil {
				acked.Store(fmt.Sprintf("%s %d", dev, seq), true)
				break
			}
			if !errors.Is(err, backplane.ErrUnavailable) {
				errs <- err
				return
			}
			time.Sleep(5 * time.Millisecond) // the agent's resend delay
		}
		time.Sleep(time.Millisecond)
	}
	errs <- nil
}

// Redis with appendfsync always, killed with SIGKILL while agents publish,
// then restarted: every acknowledged frame is still in its stream, and no
// frame is stored twice (the dedup state survived with the data).
func TestKillKeepsAcknowledged(t *testing.T) {
	srv := testenv.StartRedis(t, &testenv.RedisOptions{AppendOnly: true})
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{DialTimeout: 200 * time.Millisecond})
	const agents, frames = 5, 300
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var acked sync.Map
	errs := make(chan error, agents)
	for i := range agents {
		go agent(ctx, b, fmt.Sprintf("pi-%d", i), frames, &acked, errs)
	}
	// Kill while frames flow, twice.
	for range 2 {
		deadline := time.Now().Add(waitTimeout)
		for n := count(&acked); count(&acked) < n+100; {
			if time.Now().After(deadline) {
				t.Fatal("agents made no progress")
			}
			time.Sleep(5 * time.Millisecond)
		}
		srv.Kill()
		time.Sleep(50 * time.Millisecond) // let the agents run into the outage
		srv.Restart()
	}
	for range agents {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range agents {
		dev := fmt.Sprintf("pi-%d", i)
		h, err := b.History(t.Context(), "dev/"+dev, backplane.HistoryOptions{Last: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		last := 0
		for _, p := range h.Publications {
			f := strings.Fields(string(p.Data))
			seq, _ := strconv.Atoi(f[1])
			if seen[seq] {
				t.Fatalf("%s: seq %d stored twice", dev, seq)
			}
			if seq < last {
				t.Fatalf("%s: seq %d after %d", dev, seq, last)
			}
			seen[seq], last = true, seq
		}
		for seq := 1; seq <= frames; seq++ {
			if !seen[seq] {
				t.Fatalf("%s: acknowledged seq %d lost", dev, seq)
			}
		}
		if h.Position.Offset != frames {
			t.Fatalf("%s: top offset %d, want %d", dev, h.Position.Offset, frames)
		}
	}
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}
