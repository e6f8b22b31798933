package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// bridgeProcess runs edgeplane-bridge for region on the Redis at redisAddr
// and the broker at mqttAddr, and waits until it is ready.
func bridgeProcess(t *testing.T, bin, region, redisAddr, mqttAddr string) {
	t.Helper()
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "bridge-"+region+".hcl")
	src := fmt.Sprintf(`
region = %q
listen = "127.0.0.1:%d"
backplane {
  addrs = [%q]
}
mqtt {
  urls = ["mqtt://%s"]
}
export "link" {
  payload = "cbor"
}
import "regions" {
  topic   = "edgeplane/<region>/<device>"
  payload = "cbor"
}
`, region, port, redisAddr, mqttAddr)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "edgeplane-bridge"), "-config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	waitStatusQuiet(ctx, t, "http://127.0.0.1:"+strconv.Itoa(port)+"/readyz", http.StatusOK)
}

// waitStatusQuiet is waitStatus for a server that may not listen yet.
func waitStatusQuiet(ctx context.Context, t *testing.T, url string, want int) {
	t.Helper()
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered %d", url, want)
		case <-waitTick():
		}
	}
}

// Two regions on one machine, each with its own Redis and hub, linked by
// two edgeplane-bridge processes through one mosquitto: every frame of an
// agent in "eu" reaches a dashboard on the "us" hub, in order, exactly once,
// and nothing comes back into "eu" (its channel holds each seq once).
func TestRegionsLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bridge processes")
	}
	bin := buildBinaries(t, "./bridge/cmd/edgeplane-bridge")
	mq := testenv.StartMosquitto(t, &testenv.MosquittoOptions{Config: []string{"user root"}})
	redisEU, redisUS := testenv.StartRedis(t, nil), testenv.StartRedis(t, nil)
	onRedis := func(id, region, addr string) func(*hubd.Config) {
		return func(c *hubd.Config) {
			redisHub(id, addr)(c)
			c.Region = region
		}
	}
	eu := startHub(t, "127.0.0.1:0", onRedis("hub-eu", "eu", redisEU.Addr()))
	us := startHub(t, "127.0.0.1:0", onRedis("hub-us", "us", redisUS.Addr()))
	// The importing side first: its persistent session must exist before
	// the first export, or the broker has nobody to queue it for.
	bridgeProcess(t, bin, "us", redisUS.Addr(), mq.Addr())
	bridgeProcess(t, bin, "eu", redisEU.Addr(), mq.Addr())

	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	fs, stop := followAll(t, ctx, []string{"dev/pi-eu"}, us.wsURL())
	runAgent(t, eu.agentURL(), fastAgent("pi-eu"))
	f := fs[0]
	f.waitSeq(t, ctx, 200)
	stop()
	f.checkExactlyOnce(t)
	if f.resets != 0 {
		t.Errorf("%d resets on the us side", f.resets)
	}

	// Nothing came back: eu's channel holds each seq exactly once, in order.
	home := historyFrames(t, eu.wsURL(), "dev/pi-eu")
	checkSeqsOnce(t, home)
	t.Logf("eu agent → us dashboard: seqs 1..%d exactly once, in order; eu holds %d frames, none re-imported", f.maxSeq, len(home))
}
