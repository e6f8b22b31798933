package redis_test

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
)

// A hub's wiring: one Broker for the region's Redis servers, Run under the
// daemon's context. (Compile-only: it needs running servers.)
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	b, err := redis.New(&redis.Options{
		Addrs:      []string{"10.0.0.1:6380", "10.0.0.2:6380"},
		Region:     "eu",
		HubID:      "hub-a",
		Logger:     hclog.New(&hclog.LoggerOptions{Name: "hubd"}),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	var h backplane.Handler // the hub's fan-out
	_ = b.Run(ctx, h)
}
