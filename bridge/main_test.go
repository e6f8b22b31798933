package bridge_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"go.uber.org/goleak"
)

// childConfigEnv, when set, makes the test binary run as a bridge process
// with that config file instead of running tests: the crash test starts
// it, kills it with SIGKILL and starts it again.
const childConfigEnv = "EDGEPLANE_BRIDGE_TEST_CHILD_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(childConfigEnv); path != "" {
		os.Exit(runChild(path))
	}
	goleak.VerifyTestMain(m)
}

// runChild is a bridge process on the Redis backplane, like the daemon.
func runChild(path string) int {
	cfg, err := bridge.LoadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "child-" + cfg.Region, Output: os.Stderr})
	bp, err := redis.New(&redis.Options{Addrs: cfg.Backplane.Addrs, Prefix: cfg.Backplane.Prefix, Region: cfg.Region, HistorySize: 100000, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer bp.Close()
	b, err := bridge.New(bp, cfg, &bridge.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := b.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
