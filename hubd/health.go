package hubd

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// handleHealthz answers 200 while the process serves HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 when the hub can do its work: not draining, and
// the backplane reachable (when it can tell, through backplane.Ready).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.isDraining() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	if rd, ok := s.bp.(backplane.Ready); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := rd.Ready(ctx); err != nil {
			http.Error(w, "backplane not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// metricsHandler serves the gathered metrics in the Prometheus text format.
func (s *Server) metricsHandler() http.Handler {
	if s.gatherer == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no metrics gatherer configured", http.StatusNotFound)
		})
	}
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
}
