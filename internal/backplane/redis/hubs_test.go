package redis_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// hubRecorder records hub messages beside everything else.
type hubRecorder struct {
	*backplanetest.Recorder
	mu   sync.Mutex
	msgs []string
	got  chan struct{}
}

func (h *hubRecorder) HandleHubMessage(data []byte) {
	h.mu.Lock()
	h.msgs = append(h.msgs, string(data))
	h.mu.Unlock()
	h.got <- struct{}{}
}

func TestSendToHub(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		srv := testenv.StartRedis(t, nil)
		testSendToHub(t, []string{srv.Addr()}, false)
	})
	t.Run("cluster", func(t *testing.T) {
		testSendToHub(t, testenv.StartRedisCluster(t, nil).Addrs(), true)
	})
}

func testSendToHub(t *testing.T, addrs []string, cluster bool) {
	a := newBroker(t, addrs, &redis.Options{HubID: "hub-a", Cluster: cluster})
	bHub := newBroker(t, addrs, &redis.Options{HubID: "hub-b", Prefix: a.Prefix(), Cluster: cluster})
	recA := &hubRecorder{Recorder: backplanetest.NewRecorder(t), got: make(chan struct{}, 10)}
	recB := &hubRecorder{Recorder: backplanetest.NewRecorder(t), got: make(chan struct{}, 10)}
	run(t, a, recA)
	run(t, bHub, recB)
	ctx := t.Context()
	// Until B's subscription is up, nobody listens: ErrNoHub.
	deadline := time.Now().Add(waitTimeout)
	for {
		err := a.SendToHub(ctx, "hub-b", []byte("cmd 1"))
		if err == nil {
			break
		}
		if !errors.Is(err, backplane.ErrNoHub) || time.Now().After(deadline) {
			t.Fatalf("SendToHub: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-recB.got:
	case <-time.After(waitTimeout):
		t.Fatal("hub-b never got the message")
	}
	if err := a.SendToHub(ctx, "hub-zzz", []byte("x")); !errors.Is(err, backplane.ErrNoHub) {
		t.Fatalf("SendToHub to an unknown hub: %v, want ErrNoHub", err)
	}
	recB.mu.Lock()
	defer recB.mu.Unlock()
	if len(recB.msgs) != 1 || recB.msgs[0] != "cmd 1" {
		t.Fatalf("hub-b got %q", recB.msgs)
	}
	recA.mu.Lock()
	defer recA.mu.Unlock()
	if len(recA.msgs) != 0 {
		t.Fatalf("hub-a got %q", recA.msgs)
	}
}

func TestHubRegistry(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	backplanetest.RunHubRegistry(t, func(t *testing.T) backplane.HubRegistry {
		return newBroker(t, []string{srv.Addr()}, nil)
	})
}

func TestCursors(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	backplanetest.RunCursors(t, func(t *testing.T) backplane.Cursors {
		return newBroker(t, []string{srv.Addr()}, nil)
	})
}
