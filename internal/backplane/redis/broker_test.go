package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// uniquePrefix keeps tests that share a server apart.
func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Info})
}

// newBroker returns a Broker on addrs with test defaults filled into o.
func newBroker(t *testing.T, addrs []string, o *redis.Options) *redis.Broker {
	t.Helper()
	var opts redis.Options
	if o != nil {
		opts = *o
	}
	opts.Addrs = addrs
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix()
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.PresenceSweep == 0 {
		opts.PresenceSweep = 100 * time.Millisecond
	}
	b, err := redis.New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// run runs b with h until the test ends.
func run(t *testing.T, b *redis.Broker, h backplane.Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
}

func TestConformance(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	backplanetest.Run(t, func(t *testing.T) backplane.Backplane {
		return newBroker(t, []string{srv.Addr()}, &redis.Options{HistorySize: backplanetest.HistorySize})
	})
}

func TestConformanceShards(t *testing.T) {
	a, b, c := testenv.StartRedis(t, nil), testenv.StartRedis(t, nil), testenv.StartRedis(t, nil)
	backplanetest.Run(t, func(t *testing.T) backplane.Backplane {
		return newBroker(t, []string{a.Addr(), b.Addr(), c.Addr()}, &redis.Options{HistorySize: backplanetest.HistorySize})
	})
}
