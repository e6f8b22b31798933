package bridge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons of edgeplane_bridge_dropped_total. Every one is created at 0.
const (
	dropOwnOrigin   = "own_origin"     // import: a message this region exported came back
	dropForeign     = "foreign_origin" // export: frames of a device imported from another region are not re-exported
	dropNoMapping   = "no_mapping"     // import: no import block matches the topic
	dropBadPayload  = "bad_payload"    // import: the payload is not what the mapping expects
	dropBadDevice   = "bad_device"     // import: device id not [A-Za-z0-9._-]{1,64}
	dropDuplicate   = "duplicate"      // import: a frame the channel already had (dedup by spool id and seq)
	dropUndecodable = "undecodable"    // export: a stored publication that is not a frame
	dropHistoryLost = "history_lost"   // export: frames trimmed or lost (epoch change) before they were exported
)

type metrics struct {
	in        prometheus.Counter
	out       prometheus.Counter
	frames    prometheus.Counter
	dropped   map[string]prometheus.Counter
	connected prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, lag func() float64) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		in: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_bridge_messages_in_total",
			Help: "MQTT messages received on import subscriptions.",
		}),
		out: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_bridge_messages_out_total",
			Help: "MQTT messages exported and acknowledged by the broker (PUBACK).",
		}),
		frames: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_bridge_imported_frames_total",
			Help: "Frames stored in the backplane by imports (duplicates not counted).",
		}),
		connected: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_bridge_connected",
			Help: "1 while the MQTT connection is up.",
		}),
		dropped: map[string]prometheus.Counter{},
	}
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_bridge_dropped_total",
		Help: "Messages or frames not carried, by reason.",
	}, []string{"reason"})
	for _, r := range []string{dropOwnOrigin, dropForeign, dropNoMapping, dropBadPayload, dropBadDevice, dropDuplicate, dropUndecodable, dropHistoryLost} {
		m.dropped[r] = dropped.WithLabelValues(r)
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgeplane_bridge_export_lag_frames",
		Help: "Frames stored in exported channels and not yet acknowledged by the broker, summed over channels.",
	}, lag)
	return m
}
