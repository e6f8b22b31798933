package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
)

// Handler serves /healthz (the process runs), /readyz (Ready) and, with a
// Gatherer, /metrics.
func (b *Bridge) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := b.Ready(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if b.gather != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(b.gather, promhttp.HandlerOpts{}))
	}
	return mux
}

// listen starts the HTTP server on Config.Listen (over TLS with a tls
// block) under g; Run shuts it down.
func (b *Bridge) listen(ctx context.Context, g *errgroup.Group) (*http.Server, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", b.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("bridge: listen %s: %w", b.cfg.Listen, err)
	}
	if b.certs != nil {
		l = tls.NewListener(l, b.certs.ServerConfig())
	}
	b.mu.Lock()
	b.addr = l.Addr().String()
	b.mu.Unlock()
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("bridge: http: %w", err)
		}
		return nil
	})
	return srv, nil
}

// Addr returns the address the HTTP server listens on ("" when none), once
// Run has started it.
func (b *Bridge) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}
