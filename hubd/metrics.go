package hubd

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/version"
)

// Slow-consumer reasons (label values of edgeplane_hub_slow_consumers_total).
const (
	slowQueueBytes    = "queue_bytes"
	slowQueueMessages = "queue_messages"
	slowWriteTimeout  = "write_timeout"
)

// Links (label values).
const (
	linkAgent     = "agent"
	linkDashboard = "dashboard"
)

// Command outcomes (label values of edgeplane_hub_commands_total).
const (
	cmdOK      = "ok"
	cmdFailed  = "failed"
	cmdTimeout = "timeout"
	cmdOffline = "offline"
)

// errorCodes is the closed set of protocol error codes (DESIGN.md, "Error codes").
var errorCodes = []int{400, 401, 403, 404, 408, 413, 429, 503}

// metrics are the hub's Prometheus metrics; every label set is created at 0.
type metrics struct {
	agents         prometheus.Gauge
	sessions       *prometheus.GaugeVec
	channels       prometheus.Gauge
	framesIn       prometheus.Counter
	duplicates     prometheus.Counter
	seqJumps       prometheus.Counter
	seqSkipped     prometheus.Counter
	publishErrors  prometheus.Counter
	deliveries     prometheus.Counter
	writes         *prometheus.CounterVec
	writeBytes     *prometheus.CounterVec
	slowConsumers  *prometheus.CounterVec
	protocolErrors *prometheus.CounterVec
	commands       *prometheus.CounterVec
	resets         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		agents: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_hub_agents", Help: "Agents connected to this hub.",
		}),
		sessions: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgeplane_hub_sessions", Help: "Dashboard sessions connected to this hub, by encoding.",
		}, []string{"proto"}),
		channels: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_hub_channels", Help: "Device channels this hub is subscribed to for its sessions.",
		}),
		framesIn: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_frames_in_total", Help: "Frames received from agents and stored (duplicates excluded).",
		}),
		duplicates: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_duplicates_total", Help: "Frames received again after they were stored (acknowledged, not stored twice).",
		}),
		seqJumps: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_seq_jumps_total", Help: "Times an agent's seq jumped forward (its spool dropped frames).",
		}),
		seqSkipped: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_seq_skipped_frames_total", Help: "Frames missing in the seq jumps of agents.",
		}),
		publishErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_publish_errors_total", Help: "Frames the backplane failed to store (not acknowledged).",
		}),
		deliveries: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_deliveries_total", Help: "Frames queued to dashboard sessions.",
		}),
		writes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_ws_writes_total", Help: "WebSocket messages written to dashboards (each may carry many protocol messages).",
		}, []string{"proto"}),
		writeBytes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_ws_written_bytes_total", Help: "Bytes of WebSocket messages written to dashboards.",
		}, []string{"proto"}),
		slowConsumers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_slow_consumers_total", Help: "Dashboard sessions closed with 1013 because they did not keep up, by reason.",
		}, []string{"reason"}),
		protocolErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_protocol_errors_total", Help: "Protocol errors sent to peers, by link and code.",
		}, []string{"link", "code"}),
		commands: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_commands_total", Help: "Commands sent by dashboards, by outcome.",
		}, []string{"result"}),
		resets: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_hub_resets_total", Help: "Channel resets (history lost, new epoch) passed on to sessions.",
		}),
	}
	if reg != nil {
		reg.MustRegister(version.Collector())
	}

	for _, p := range []string{protoName(frame.ProtoJSON), protoName(frame.ProtoCBOR)} {
		m.sessions.WithLabelValues(p)
		m.writes.WithLabelValues(p)
		m.writeBytes.WithLabelValues(p)
	}
	for _, r := range []string{slowQueueBytes, slowQueueMessages, slowWriteTimeout} {
		m.slowConsumers.WithLabelValues(r)
	}
	for _, l := range []string{linkAgent, linkDashboard} {
		for _, c := range errorCodes {
			m.protocolErrors.WithLabelValues(l, strconv.Itoa(c))
		}
	}
	for _, r := range []string{cmdOK, cmdFailed, cmdTimeout, cmdOffline} {
		m.commands.WithLabelValues(r)
	}
	return m
}

// protoName is the label value of a dashboard encoding.
func protoName(p frame.Proto) string {
	if p == frame.ProtoCBOR {
		return "cbor"
	}
	return "json"
}

// protoError counts a protocol error of the closed code set.
func (m *metrics) protoError(link string, code int) {
	m.protocolErrors.WithLabelValues(link, strconv.Itoa(code)).Inc()
}
