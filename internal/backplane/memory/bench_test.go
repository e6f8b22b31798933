package memory_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
)

// BenchmarkPublish measures Publish with dedup from many goroutines, each
// on its own channel, 100-byte payloads.
func BenchmarkPublish(b *testing.B) {
	br, err := memory.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	payload := make([]byte, 100)
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := next.Add(1)
		ch, spool := fmt.Sprintf("dev/bench-%d", id), fmt.Sprintf("spool-%d", id)
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
}
