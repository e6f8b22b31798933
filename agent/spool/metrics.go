package spool

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Drop reasons, the closed label set of edgeplane_spool_dropped_frames_total.
const (
	reasonFull    = "full"    // the byte bound was reached: oldest segment deleted
	reasonCorrupt = "corrupt" // a record failed its checksum when read back
)

type metrics struct {
	records      prometheus.Gauge
	bytes        prometheus.Gauge
	diskBytes    prometheus.Gauge
	segments     prometheus.Gauge
	appended     prometheus.Counter
	droppedFull  prometheus.Counter
	droppedBad   prometheus.Counter
	cutBytes     prometheus.Counter
	fsyncs       prometheus.Counter
	fsyncErrors  prometheus.Counter
	fsyncSeconds prometheus.Histogram
}

// newMetrics registers the spool's metrics with reg; a nil reg makes them
// unregistered (promauto.With(nil) does not register).
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_spool_dropped_frames_total",
		Help: "Frames dropped before they were acknowledged, by reason (full: oldest segment deleted at the byte bound; corrupt: failed its checksum when read).",
	}, []string{"reason"})
	return &metrics{
		records: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_spool_records",
			Help: "Frames held in the spool, not yet acknowledged.",
		}),
		bytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_spool_bytes",
			Help: "Encoded bytes of the frames held, not yet acknowledged.",
		}),
		diskBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_spool_disk_bytes",
			Help: "Bytes of segment files on disk, what max_bytes bounds.",
		}),
		segments: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_spool_segments",
			Help: "Segment files on disk.",
		}),
		appended: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_spool_appended_frames_total",
			Help: "Frames appended to the spool.",
		}),
		droppedFull: dropped.WithLabelValues(reasonFull),
		droppedBad:  dropped.WithLabelValues(reasonCorrupt),
		cutBytes: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_spool_cut_bytes_total",
			Help: "Bytes of torn or corrupt segment tails cut off when the spool was opened.",
		}),
		fsyncs: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_spool_fsyncs_total",
			Help: "fsync calls on segment, state and directory files.",
		}),
		fsyncErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_spool_fsync_errors_total",
			Help: "fsync calls that failed.",
		}),
		fsyncSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgeplane_spool_fsync_duration_seconds",
			Help:    "Time taken by fsync calls.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8), // 100 µs .. 1.6 s
		}),
	}
}
