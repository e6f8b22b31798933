package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newHTTPServer listens on addr for /metrics and /healthz (200 while
// Healthy, else 503 with the reason), for the local Prometheus and the
// operator, over TLS when the metrics block has a tls block. It listens at
// once, so the port is bound before Ready.
func (a *Agent) newHTTPServer(addr string) (*http.Server, net.Listener, error) {
	mux := http.NewServeMux()
	if a.gather != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.gather, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          a.log.Named("http").StandardLogger(nil),
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: metrics listen: %w", err)
	}
	if a.certs != nil {
		ln = tls.NewListener(ln, a.certs.ServerConfig())
	}
	return srv, ln, nil
}

// serveHTTP serves on ln until ctx ends, then shuts down.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("agent: metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("agent: metrics: %w", err)
	}
	return nil
}
