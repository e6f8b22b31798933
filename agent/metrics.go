package agent

import (
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Label values of the closed sets used below.
var (
	dialResults       = []string{"ok", "error", "rejected"}
	disconnectReasons = []string{"network", "hub_error", "protocol", "shutdown"}
	commandResults    = []string{"ok", "error"}
)

type metrics struct {
	samples      prometheus.Counter
	frames       prometheus.Counter
	badValues    prometheus.Counter
	appendErrors prometheus.Counter
	missedTicks  prometheus.Counter
	readErrors   *prometheus.CounterVec

	connected   prometheus.Gauge
	dials       *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	sentFrames  prometheus.Counter
	sentBytes   prometheus.Counter
	ackedSeq    prometheus.Gauge
	inFlight    prometheus.Gauge
	lastAck     prometheus.Gauge
	commands    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		samples: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_agent_samples_total", Help: "Samples sealed into frames.",
		}),
		frames: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_agent_frames_total", Help: "Frames appended to the queue.",
		}),
		badValues: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_agent_invalid_values_total", Help: "Readings dropped because their value was NaN, infinite or of an unknown type.",
		}),
		appendErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_agent_queue_errors_total", Help: "Frames lost because the queue refused them.",
		}),
		missedTicks: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_agent_missed_ticks_total", Help: "Sampling ticks skipped because a sensor read took longer than its period.",
		}),
		readErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_agent_sensor_read_errors_total", Help: "Failed sensor reads, by driver.",
		}, []string{"driver"}),
		connected: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_uplink_connected", Help: "1 while a hub session is up (after WELCOME), else 0.",
		}),
		dials: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_uplink_dials_total", Help: "Connection attempts by result: ok (WELCOME received), error (network, timeout), rejected (HTTP error or hub ERROR).",
		}, []string{"result"}),
		disconnects: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_uplink_disconnects_total", Help: "Ends of established hub sessions, by reason.",
		}, []string{"reason"}),
		sentFrames: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_uplink_sent_frames_total", Help: "Frames sent to a hub, resends included.",
		}),
		sentBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_uplink_sent_bytes_total", Help: "Bytes of WebSocket message payloads sent to a hub.",
		}),
		ackedSeq: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_uplink_acked_seq", Help: "Highest seq acknowledged by a hub.",
		}),
		inFlight: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_uplink_inflight_frames", Help: "Frames sent in this session and not acknowledged yet.",
		}),
		lastAck: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_uplink_last_ack_timestamp_seconds", Help: "When the last ACK arrived, Unix time.",
		}),
		commands: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_uplink_commands_total", Help: "Commands from the hub by name (unknown for names the agent does not know) and result.",
		}, []string{"command", "result"}),
	}
	if reg != nil {
		reg.MustRegister(version.Collector())
	}
	for d := range sensorDrivers() {
		m.readErrors.WithLabelValues(d)
	}
	for _, l := range dialResults {
		m.dials.WithLabelValues(l)
	}
	for _, l := range disconnectReasons {
		m.disconnects.WithLabelValues(l)
	}
	for _, c := range append(commandNames(), "unknown") {
		for _, r := range commandResults {
			m.commands.WithLabelValues(c, r)
		}
	}
	return m
}
