package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// BenchmarkPublish measures Publish throughput into one local redis-server
// from many goroutines (simulated agents), each on its own device channel
// with dedup, 100-byte payloads; with channels > 0 they share that many
// channels (the script stores a channel's publications of one call with
// one meta read and write). Compare with redis-benchmark on the same
// machine (see BENCHMARKS.md).
func BenchmarkPublish(b *testing.B) {
	for _, bc := range []struct{ par, lanes, channels int }{
		{1, 1, 0}, {16, 1, 0}, {128, 1, 0}, {16, 4, 0}, {128, 4, 0}, {128, 1, 16},
	} {
		par := bc.par
		name := fmt.Sprintf("goroutines=%d/lanes=%d", par, bc.lanes)
		if bc.channels > 0 {
			name += fmt.Sprintf("/channels=%d", bc.channels)
		}
		b.Run(name, func(b *testing.B) {
			srv := testenv.StartRedis(b, nil)
			br, err := redis.New(&redis.Options{Addrs: []string{srv.Addr()}, Logger: hclog.NewNullLogger(), PublishLanes: bc.lanes})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			payload := make([]byte, 100)
			var next atomic.Int64
			b.SetParallelism(par) // par × GOMAXPROCS goroutines
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := next.Add(1)
				ch := fmt.Sprintf("dev/bench-%d", id)
				if bc.channels > 0 {
					ch = fmt.Sprintf("dev/bench-%d", id%int64(bc.channels))
				}
				spool := fmt.Sprintf("spool-%d", id)
				seq := uint64(0)
				for pb.Next() {
					seq++
					if _, err := br.Publish(b.Context(), ch, payload, backplane.PublishOptions{SpoolID: spool, Seq: seq}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publications/s")
			b.StopTimer()
			if stats, err := srv.Do(context.Background(), "INFO", "commandstats"); err == nil {
				if usec, ok := scriptUsec(stats); ok {
					b.ReportMetric(usec/float64(b.N), "redis-µs/publication")
				}
			}
		})
	}
}

// scriptUsec is the Redis CPU time spent in EVALSHA and EVAL, from INFO
// commandstats ("cmdstat_evalsha:calls=…,usec=…,…").
func scriptUsec(stats string) (float64, bool) {
	total, found := 0.0, false
	for _, line := range strings.Split(stats, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "usec="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					total += f
					found = true
				}
			}
		}
	}
	return total, found
}

// countHandler counts deliveries and signals when want is reached.
type countHandler struct {
	warm atomic.Bool
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (h *countHandler) HandlePublication(ch string, _ string, _ backplane.Publication) {
	if ch == "dev/warm-up" {
		h.warm.Store(true)
		return
	}
	if h.n.Add(1) == h.want {
		close(h.done)
	}
}
func (h *countHandler) HandleReset(string, backplane.Position) {}
func (h *countHandler) HandlePresence(backplane.DeviceState)   {}

// BenchmarkPublishDeliver measures publications per second from one hub's
// Publish to another hub's Handler through one redis-server: 128
// publishers on 16 channels, every channel subscribed by the receiver.
func BenchmarkPublishDeliver(b *testing.B) {
	srv := testenv.StartRedis(b, nil)
	log := hclog.NewNullLogger()
	pubHub, err := redis.New(&redis.Options{Addrs: []string{srv.Addr()}, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer pubHub.Close()
	recvHub, err := redis.New(&redis.Options{Addrs: []string{srv.Addr()}, Logger: log, Prefix: pubHub.Prefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer recvHub.Close()
	const channels = 16
	for i := range channels {
		if err := recvHub.Subscribe(context.Background(), fmt.Sprintf("dev/d%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := recvHub.Subscribe(context.Background(), "dev/warm-up"); err != nil {
		b.Fatal(err)
	}
	h := &countHandler{want: int64(b.N), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- recvHub.Run(ctx, h) }()
	defer func() { cancel(); <-runDone }()
	// Wait until the subscriptions are live: a marker must arrive.
	for !h.warm.Load() {
		if _, err := pubHub.Publish(ctx, "dev/warm-up", []byte("warm-up"), backplane.PublishOptions{}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	payload := make([]byte, 100)
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ch := fmt.Sprintf("dev/d%d", next.Add(1)%channels)
		for pb.Next() {
			if _, err := pubHub.Publish(ctx, ch, payload, backplane.PublishOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-h.done:
	case <-time.After(time.Minute):
		b.Fatalf("delivered %d of %d", h.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
