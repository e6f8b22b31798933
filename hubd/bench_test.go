package hubd_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// BenchmarkFanout measures deliveries per second from one agent to N
// dashboard sessions of one channel, over real loopback WebSockets (the
// clients run in the same process and share the CPU with the hub, so the
// figures are a lower bound of the hub's).
//
//	go test -run '^$' -bench Fanout -benchtime 20000x ./hubd/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			h := startHub(b, func(c *hubd.Config) {
				c.Limits.SendQueueBytes = "256MiB"
				c.Limits.SendQueueMessages = 1 << 22
				// A history deep enough that the hub's delivery never falls
				// behind it (then the broker would announce a reset).
				c.Backplane = &hubd.BackplaneConfig{HistorySize: 1_000_000}
			})
			a := connectAgent(b, h, "bench")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			var mu sync.Mutex
			got := make([]int, n)
			done := make(chan struct{})
			left := n
			for i := range n {
				d := dialDash(b, h, frame.ProtoJSON)
				d.sub(frame.ClientMessage{Ch: "dev/bench"})
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						_, m, err := d.c.Read(ctx)
						if err != nil {
							return
						}
						k := bytes.Count(m, []byte{'\n'}) + 1
						mu.Lock()
						got[i] += k
						if got[i] >= b.N && got[i]-k < b.N {
							left--
							if left == 0 {
								close(done)
							}
						}
						mu.Unlock()
					}
				}()
			}
			b.ResetTimer()
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			start := time.Now()
			const batch = 100
			for sent := 0; sent < b.N; {
				k := min(batch, b.N-sent)
				ms := make([]frame.Message, k)
				for j := range ms {
					a.seq++
					ms[j] = testFrame(a.seq)
				}
				a.send(ms...)
				a.waitAck(a.seq)
				sent += k
			}
			pubEl := time.Since(start)
			select {
			case <-done:
			case <-time.After(time.Minute):
				mu.Lock()
				short := 0
				for _, g := range got {
					if g < b.N {
						short++
					}
				}
				mu.Unlock()
				b.Fatalf("%d of %d sessions did not get all %d frames; resets %v, slow consumers %v", short, n, b.N, h.metric("edgeplane_hub_resets_total", ""),
					h.metric("edgeplane_hub_slow_consumers_total", "reason=write_timeout"))
			}
			el := time.Since(start)
			b.StopTimer()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.Logf("published in %v, all delivered in %v, cpu %v", pubEl, el, cpu)
			b.ReportMetric(float64(b.N)*float64(n)/el.Seconds(), "deliveries/s")
			// The machine may be shared: deliveries per second of CPU the
			// process (hub and clients) used is the steadier figure.
			b.ReportMetric(float64(b.N)*float64(n)/cpu.Seconds(), "deliveries/cpu-s")
			b.ReportMetric(h.metric("edgeplane_hub_deliveries_total", "")/h.metric("edgeplane_hub_ws_writes_total", "proto=json"), "frames/write")
			cancel()
			h.close()
			wg.Wait()
		})
	}
}
