package redis_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// The conformance suite against a real three-master Redis Cluster: hash
// tagged keys, scripts per slot, sharded pub/sub on each slot's master.
func TestConformanceCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, nil)
	backplanetest.Run(t, func(t *testing.T) backplane.Backplane {
		return newBroker(t, c.Addrs(), &redis.Options{Cluster: true, HistorySize: backplanetest.HistorySize})
	})
}

// One master killed and restarted empty: its channels fail with
// ErrUnavailable while it is down and come back with a reset; the
// channels of the other masters go on undisturbed.
func TestClusterNodeRestarted(t *testing.T) {
	c := testenv.StartRedisCluster(t, nil)
	b := newBroker(t, c.Addrs(), &redis.Options{Cluster: true, DialTimeout: 200 * time.Millisecond})
	rec := backplanetest.NewRecorder(t)
	run(t, b, rec)
	ctx := t.Context()
	const n = 24
	chans := make([]string, n)
	epochs := make(map[string]string)
	for i := range chans {
		chans[i] = fmt.Sprintf("dev/c%d", i)
		if err := b.Subscribe(ctx, chans[i]); err != nil {
			t.Fatal(err)
		}
		epochs[chans[i]] = pub(t, b, chans[i], "m1").Position.Epoch
	}
	for _, ch := range chans {
		rec.WaitChannel(t, waitTimeout, ch, 1)
	}
	c.Nodes[1].Kill()
	down := map[string]bool{}
	for _, ch := range chans {
		_, err := b.Publish(ctx, ch, []byte("m2"), backplane.PublishOptions{})
		switch {
		case errors.Is(err, backplane.ErrUnavailable):
			down[ch] = true
		case err != nil:
			t.Fatalf("publish to %s with a master down: %v, want nil or ErrUnavailable", ch, err)
		}
	}
	if len(down) == 0 || len(down) == n {
		t.Fatalf("%d of %d channels unavailable with one of three masters down", len(down), n)
	}
	c.Nodes[1].Restart()
	c.WaitOK(t)
	for _, ch := range chans {
		if !down[ch] {
			evs := rec.WaitChannel(t, waitTimeout, ch, 2)
			checkContiguous(t, evs, epochs[ch], 1, 2)
			continue
		}
		// The restarted master lost the channel: a reset with a new epoch,
		// then publications start again at 1.
		evs := rec.WaitChannel(t, waitTimeout, ch, 2)
		if evs[1].Kind != backplanetest.EventReset || evs[1].Position.Epoch == epochs[ch] {
			t.Fatalf("%s after its master restarted: %v, want a reset with a new epoch", ch, evs[1])
		}
		var r backplane.PublishResult
		deadline := time.Now().Add(waitTimeout)
		for {
			var err error
			r, err = b.Publish(ctx, ch, []byte("m1"), backplane.PublishOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish to %s after restart: %v", ch, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.Position != (backplane.Position{Epoch: evs[1].Position.Epoch, Offset: 1}) {
			t.Fatalf("%s: first publication after restart at %+v", ch, r.Position)
		}
		checkContiguous(t, rec.WaitChannel(t, waitTimeout, ch, 3)[2:], r.Position.Epoch, 1, 1)
	}
}
