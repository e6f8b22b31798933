package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// redisHub returns a config change that puts a hub on the Redis at addr.
func redisHub(id, addr string) func(*hubd.Config) {
	return func(c *hubd.Config) {
		c.HubID, c.Region = id, "eu"
		c.Backplane = &hubd.BackplaneConfig{Type: "redis", HistorySize: 100_000, Redis: &hubd.RedisConfig{Addrs: []string{addr}}}
		c.Limits.PresenceTTL = "3s"
	}
}

// hubProcess runs edgeplane-hubd as a process on the Redis at redisAddr, so
// that a test can kill -9 it. It returns the hub's address.
func hubProcess(t *testing.T, bin, id, redisAddr string) (addr string, cmd *exec.Cmd) {
	t.Helper()
	addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := filepath.Join(t.TempDir(), id+".hcl")
	src := fmt.Sprintf(`
listen          = %q
hub_id          = %q
region          = "eu"
allow_anonymous = true
backplane {
  type         = "redis"
  history_size = 100000
  redis {
    addrs = [%q]
  }
}
limits {
  presence_ttl = "3s"
}
`, addr, id, redisAddr)
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(filepath.Join(bin, "edgeplane-hubd"), "-config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, cmd
			}
		}
		select {
		case <-ctx.Done():
		case <-waitTick():
		}
	}
	t.Fatalf("hub %s never became ready", id)
	return "", nil
}

// followAll runs one follower per channel on urls until the returned stop
// is called.
func followAll(t *testing.T, ctx context.Context, chans []string, urls ...string) ([]*follower, func()) {
	t.Helper()
	fctx, cancel := context.WithCancel(ctx)
	var fs []*follower
	done := make(chan struct{}, len(chans))
	for _, ch := range chans {
		f := newFollower(ch, urls...)
		fs = append(fs, f)
		go func() { f.run(fctx); done <- struct{}{} }()
	}
	for _, f := range fs { // subscribed before anything is published
		f.waitReady(t, ctx)
	}
	return fs, func() {
		cancel()
		for range chans {
			<-done
		}
	}
}

// An agent on hub A, a dashboard on hub B: every frame arrives, in order.
func TestTwoHubsOneRedis(t *testing.T) {
	r := testenv.StartRedis(t, nil)
	a := startHub(t, "127.0.0.1:0", redisHub("hub-a", r.Addr()))
	b := startHub(t, "127.0.0.1:0", redisHub("hub-b", r.Addr()))
	d := dialDash(t, b.wsURL(), frame.ProtoCBOR)
	d.sub(frame.ClientMessage{Ch: "dev/pi-x"})
	runAgent(t, a.agentURL(), fastAgent("pi-x"))
	fs := d.frames("dev/pi-x", 100)
	if fs[0].Seq != 1 || fs[0].Off != 1 {
		t.Fatalf("first frame seq %d off %d, want 1 1", fs[0].Seq, fs[0].Off)
	}
	checkContiguous(t, fs)
}

// Redis is killed with SIGKILL while five agents publish, and comes back
// empty. Afterwards every frame the agents produced reached the dashboards:
// once, or twice across the reset that announced the lost history — never
// twice within one history. The hubs never stop serving.
func TestRedisKill9(t *testing.T) {
	r := testenv.StartRedis(t, nil)
	a := startHub(t, "127.0.0.1:0", redisHub("hub-a", r.Addr()))
	b := startHub(t, "127.0.0.1:0", redisHub("hub-b", r.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	var chans []string
	for i := range 5 {
		chans = append(chans, fmt.Sprintf("dev/pi-%d", i))
	}
	fs, stop := followAll(t, ctx, chans, b.wsURL())
	for i := range 5 {
		// 200 frames/s each: a sample every 5 ms, one sample per frame.
		runAgent(t, a.agentURL(), fmt.Sprintf(`
device_id      = "pi-%d"
flush_interval = "10ms"
max_samples    = 1
hub {
  url           = "ws://127.0.0.1:1/v1/agent"
  reconnect_min = "50ms"
  reconnect_max = "200ms"
}
sensor "sim.sine" "t" {
  period     = "5ms"
  resolution = 0.01
}
`, i))
	}
	var atKill []uint64
	for _, f := range fs {
		atKill = append(atKill, f.waitSeq(t, ctx, 100))
	}
	r.Kill()
	// While Redis is down the hubs answer and say they are not ready.
	for _, h := range []*hub{a, b} {
		if code := httpStatus(t, "http://"+h.addr+"/healthz"); code != http.StatusOK {
			t.Errorf("healthz of %s with Redis down: %d", h.addr, code)
		}
		waitStatus(t, ctx, "http://"+h.addr+"/readyz", http.StatusServiceUnavailable)
	}
	r.Restart()
	for i, f := range fs {
		f.waitSeq(t, ctx, atKill[i]+400)
	}
	stop()
	for i, f := range fs {
		if f.resets == 0 {
			t.Errorf("%s: no reset after Redis came back empty", chans[i])
		}
		across := f.checkOnceButResets(t)
		t.Logf("%s: seqs 1..%d all received; %d stored again after the reset", chans[i], f.maxSeq, across)
	}
}

// Killing the hubs' pub/sub connections mid-stream (CLIENT KILL TYPE pubsub)
// costs dashboards nothing: no gap, no duplicate, no reset.
func TestPubSubKilled(t *testing.T) {
	r := testenv.StartRedis(t, nil)
	a := startHub(t, "127.0.0.1:0", redisHub("hub-a", r.Addr()))
	b := startHub(t, "127.0.0.1:0", redisHub("hub-b", r.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	fs, stop := followAll(t, ctx, []string{"dev/pi-p"}, b.wsURL())
	runAgent(t, a.agentURL(), fastAgent("pi-p"))
	f := fs[0]
	before := f.waitSeq(t, ctx, 20)
	for range 3 {
		if _, err := r.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub"); err != nil {
			t.Fatal(err)
		}
		before = f.waitSeq(t, ctx, before+30)
	}
	stop()
	if f.resets != 0 {
		t.Errorf("%d resets after pub/sub kills", f.resets)
	}
	f.checkExactlyOnce(t)
	filled := metricSum(ctx, "http://"+b.addr+"/metrics", "edgeplane_backplane_filled_publications_total")
	t.Logf("seqs 1..%d exactly once across 3 pub/sub kills (%.0f publications filled from the stream)", f.maxSeq, filled)
}

// kill -9 of hub A: its agent moves to hub B (it knows both URLs), the
// dashboard reconnects to B with since, and ends with the complete sequence,
// each seq once. Before the agent comes back, its device is offline on B
// within the presence TTL; after, online again.
func TestHubKill9Failover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a hub process")
	}
	bin := buildBinaries(t, "./hubd/cmd/edgeplane-hubd")
	r := testenv.StartRedis(t, nil)
	addrA, procA := hubProcess(t, bin, "hub-a", r.Addr())
	b := startHub(t, "127.0.0.1:0", redisHub("hub-b", r.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()

	fs, stop := followAll(t, ctx, []string{"dev/pi-f"}, "ws://"+addrA+"/v1/ws", b.wsURL())
	runAgentURLs(t, fastAgent("pi-f"), "ws://"+addrA+"/v1/agent", b.agentURL())
	f := fs[0]
	before := f.waitSeq(t, ctx, 30)
	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	f.waitSeq(t, ctx, before+100)
	stop()
	if f.resets != 0 {
		t.Errorf("%d resets: the stream outlives a hub", f.resets)
	}
	f.checkExactlyOnce(t)
	t.Logf("hub A killed at seq %d: seqs 1..%d exactly once through hub B", before, f.maxSeq)
}

// A device whose hub dies without goodbye goes offline on every hub within
// the presence TTL (3 s here; hubs refresh every third of it).
func TestPresenceExpiresWithHub(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a hub process")
	}
	bin := buildBinaries(t, "./hubd/cmd/edgeplane-hubd")
	r := testenv.StartRedis(t, nil)
	addrA, procA := hubProcess(t, bin, "hub-a", r.Addr())
	b := startHub(t, "127.0.0.1:0", redisHub("hub-b", r.Addr()))
	d := dialDash(t, b.wsURL(), frame.ProtoJSON)
	d.sub(frame.ClientMessage{Ch: frame.ChannelPresence})
	runAgentURLs(t, fastAgent("pi-gone"), "ws://"+addrA+"/v1/agent") // knows hub A only
	waitPresence(t, d, "pi-gone", true)
	killed := time.Now()
	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, d, "pi-gone", false)
	// The documented bound is presence_ttl (3 s) plus one sweep (1 s); a
	// loaded test machine gets 3 s more before this counts as a failure.
	if el := time.Since(killed); el > 3*time.Second+time.Second+3*time.Second {
		t.Errorf("offline %v after the hub died; the documented bound is presence_ttl (3s) plus a sweep (1s)", el)
	} else {
		t.Logf("offline on hub B %v after hub A was killed", el.Round(10*time.Millisecond))
	}
}

func waitPresence(t *testing.T, d *dash, device string, online bool) {
	t.Helper()
	for {
		if p, ok := d.mustNext().(*frame.PresenceMsg); ok && p.Device == device && p.Online == online {
			return
		}
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitStatus(t *testing.T, ctx context.Context, url string, want int) {
	t.Helper()
	for {
		if httpStatus(t, url) == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never answered %d", url, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitTick paces the polls of a readiness endpoint.
func waitTick() <-chan time.Time { return time.After(20 * time.Millisecond) }
