package redis

import (
	"context"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	goredis "github.com/redis/go-redis/v9"
)

type metrics struct {
	pubStored, pubDuplicate, pubError prometheus.Counter
	batchSize                         prometheus.Observer
	filled                            map[string]prometheus.Counter // by reason
	resetEpoch, resetTrimmed          prometheus.Counter
	reconnects                        prometheus.Counter
	presenceExpired                   prometheus.Counter
	cmdDuration                       *prometheus.HistogramVec
	cmdErrors                         *prometheus.CounterVec
}

// Closed label sets.
var (
	fillReasons = []string{"subscribe", "resubscribe", "gap"}
	cmdOps      = []string{"pipeline", "evalsha", "eval", "hgetall", "hget", "ping", "dial"}
)

// newMetrics registers with reg; a nil reg gives working, unregistered
// metrics.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	pub := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_backplane_publications_total",
		Help: "Publish calls by result: stored, duplicate (dedup by spool id and seq; nothing stored), error.",
	}, []string{"result"})
	filled := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_backplane_filled_publications_total",
		Help: "Publications delivered from the stream instead of pub/sub, by reason: subscribe (published while subscribing), " +
			"resubscribe (missed while the pub/sub connection was down), gap (a live notification skipped offsets: lost or the node fell behind).",
	}, []string{"reason"})
	reset := f.NewCounterVec(prometheus.CounterOpts{
		Name: "edgeplane_backplane_delivery_resets_total",
		Help: "HandleReset calls by reason: epoch (history lost), trimmed (the gap was no longer in the stream).",
	}, []string{"reason"})
	m := &metrics{
		pubStored:    pub.WithLabelValues("stored"),
		pubDuplicate: pub.WithLabelValues("duplicate"),
		pubError:     pub.WithLabelValues("error"),
		batchSize: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgeplane_backplane_publish_batch_publications",
			Help:    "Publications per pipeline sent to Redis.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		filled:       make(map[string]prometheus.Counter),
		resetEpoch:   reset.WithLabelValues("epoch"),
		resetTrimmed: reset.WithLabelValues("trimmed"),
		reconnects: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_backplane_pubsub_reconnects_total",
			Help: "Pub/sub connections lost and established again.",
		}),
		presenceExpired: f.NewCounter(prometheus.CounterOpts{
			Name: "edgeplane_backplane_presence_expired_total",
			Help: "Online devices turned offline by this hub's sweep because their entry was not refreshed in time.",
		}),
		cmdDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgeplane_backplane_redis_command_duration_seconds",
			Help:    "Latency of Redis commands and pipelines, by op.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}, []string{"op"}),
		cmdErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_backplane_redis_errors_total",
			Help: "Failed Redis commands and pipelines, by op (redis nil replies are not errors).",
		}, []string{"op"}),
	}
	for _, r := range fillReasons {
		m.filled[r] = filled.WithLabelValues(r)
	}
	for _, op := range append(cmdOps, "other") {
		m.cmdDuration.WithLabelValues(op)
		m.cmdErrors.WithLabelValues(op)
	}
	return m
}

// hook measures every command and pipeline of one client.
func (m *metrics) hook() goredis.Hook { return cmdHook{m} }

type cmdHook struct{ m *metrics }

func (h cmdHook) op(name string) string {
	for _, op := range cmdOps {
		if op == name {
			return op
		}
	}
	return "other"
}

func (h cmdHook) observe(op string, start time.Time, err error) {
	h.m.cmdDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && err != goredis.Nil {
		h.m.cmdErrors.WithLabelValues(op).Inc()
	}
}

func (h cmdHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		c, err := next(ctx, network, addr)
		h.observe("dial", start, err)
		return c, err
	}
}

func (h cmdHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(h.op(cmd.Name()), start, err)
		return err
	}
}

func (h cmdHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.observe("pipeline", start, err)
		return err
	}
}
