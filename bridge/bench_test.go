package bridge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// BenchmarkRegionLink measures frames per second from region eu's Redis
// backplane through its bridge, mosquitto and region us's bridge into us's
// Redis backplane, with the default batch and in-flight settings. b.N
// frames (two samples each) are stored in eu first; the clock runs from
// starting the bridges until us holds the last one.
//
//	go test ./bridge -run '^$' -bench RegionLink -benchtime 20000x
func BenchmarkRegionLink(b *testing.B) {
	mq := testenv.StartMosquitto(b, nil)
	rds := testenv.StartRedis(b, nil)
	open := func(region string) backplane.Backplane {
		bp, err := redis.New(&redis.Options{Addrs: []string{rds.Addr()}, Prefix: fmt.Sprintf("bench%d-%s", b.N, region), Region: region, HistorySize: b.N + 10})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = bp.Close() })
		return bp
	}
	eu, us := open("eu"), open("us")
	a := newAgent(b, eu, "pi-eu", "eu", nil)
	for range b.N {
		a.send(b)
	}
	presubscribe(b, mq.Addr(), "edgeplane-bridge-us", "edgeplane/+/+")
	cfg := func(region string) string {
		return fmt.Sprintf(`
region = %q
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
}
export "link" {
  payload = "cbor"
}
import "regions" {
  topic = "edgeplane/<region>/<device>"
  payload = "cbor"
}
`, region)
	}
	b.ResetTimer()
	start := time.Now()
	startBridge(b, open("us"), mq.Addr(), cfg("us"))
	startBridge(b, open("eu"), mq.Addr(), cfg("eu"))
	ch := frame.DeviceChannel("pi-eu")
	for {
		res, err := us.History(context.Background(), ch, backplane.HistoryOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Position.Offset >= uint64(b.N) {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d frames after 5 minutes", res.Position.Offset, b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
}
