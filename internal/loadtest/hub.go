package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
)

// inProcessHub is a hub this process serves on a loopback port.
type inProcessHub struct {
	url    string
	bp     backplane.Backplane // the Redis broker we own; nil with memory
	cancel context.CancelFunc
	done   chan error // Serve's result
}

// startHub starts a hub on 127.0.0.1 with allow_anonymous, on the memory
// backplane or, with cfg.RedisAddr, on Redis under the run's own prefix.
// stop must be called.
func startHub(ctx context.Context, cfg *Config, runID, hubID string, log hclog.Logger) (*inProcessHub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadtest: listen: %w", err)
	}
	reg := prometheus.NewRegistry()
	hc := &hubd.Config{
		Listen:         ln.Addr().String(),
		HubID:          hubID,
		Region:         "load",
		AllowAnonymous: true,
		LogLevel:       "warn",
		Backplane: &hubd.BackplaneConfig{
			HistorySize: cfg.HistorySize,
			HistoryTTL:  cfg.HistoryTTL.String(),
		},
		// A load run measures the hub, not its protective limits: a single
		// agent sending as fast as ACKs allow is above the default per-device
		// frame rate, and every simulated connection comes from loopback.
		Limits: &hubd.LimitsConfig{FramesPerSecond: -1, Connections: -1},
	}
	opts := &hubd.Options{Logger: log, Registerer: reg}
	h := &inProcessHub{url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	if cfg.RedisAddr != "" {
		b, err := redis.New(&redis.Options{
			Addrs:        []string{cfg.RedisAddr},
			Prefix:       "edgeplane-load-" + runID,
			Region:       "load-" + runID,
			HistorySize:  cfg.HistorySize,
			HistoryTTL:   cfg.HistoryTTL,
			PublishLanes: cfg.RedisPublishLanes,
			Logger:       log,
			Registerer:   reg,
		})
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("loadtest: %w", err)
		}
		opts.Backplane = b
		h.bp = b
	}
	srv, err := hubd.New(hc, opts)
	if err != nil {
		ln.Close()
		if h.bp != nil {
			h.bp.Close()
		}
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	if h.bp != nil {
		if r, ok := h.bp.(backplane.Ready); ok {
			if err := r.Ready(ctx); err != nil {
				ln.Close()
				h.bp.Close()
				return nil, fmt.Errorf("loadtest: redis %s: %w", cfg.RedisAddr, err)
			}
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	go func() { h.done <- srv.Serve(sctx, ln) }()
	return h, nil
}

// stop drains the hub, waits for Serve, and closes the Redis broker.
func (h *inProcessHub) stop() error {
	h.cancel()
	err := <-h.done
	if errors.Is(err, hubd.ErrServerClosed) {
		err = nil
	}
	if h.bp != nil {
		if cerr := h.bp.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("loadtest: hub: %w", err)
	}
	return nil
}
