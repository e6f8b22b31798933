package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// BenchmarkPublish measures Publish throughput into one local redis-server
// from many goroutines (simulated agents), each on its own device channel
// with dedup, 100-byte payloads. Compare with redis-benchmark on the same
// machine (see BENCHMARKS.md).
func BenchmarkPublish(b *testing.B) {
	for _, par := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("goroutines=%d", par), func(b *testing.B) {
			srv := testenv.StartRedis(b, nil)
			br, err := redis.New(&redis.Options{Addrs: []string{srv.Addr()}, Logger: hclog.NewNullLogger()})
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
