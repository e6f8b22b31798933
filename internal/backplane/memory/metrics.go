package memory

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	stored, duplicate        prometheus.Counter
	resetEpoch, resetTrimmed prometheus.Counter
	presenceExpired          prometheus.Counter
}

// newMetrics registers with reg; a nil reg gives working, unregistered
// metrics.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	pub := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_backplane_publications_total",
		Help: "Publish calls by result: stored, or duplicate (dedup by spool id and seq; nothing stored).",
	}, []string{"result"})
	reset := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_backplane_delivery_resets_total",
		Help: "HandleReset calls by reason: epoch (history lost), trimmed (the handler fell behind the history size).",
	}, []string{"reason"})
	return &metrics{
		stored:       pub.WithLabelValues("stored"),
		duplicate:    pub.WithLabelValues("duplicate"),
		resetEpoch:   reset.WithLabelValues("epoch"),
		resetTrimmed: reset.WithLabelValues("trimmed"),
		presenceExpired: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_backplane_presence_expired_total",
			Help: "Online devices turned offline because their entry was not refreshed in time.",
		}),
	}
}
