package bridge_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestBrokerKillDuringExport: mosquitto is killed (SIGKILL) during a steady
// stream of 100 frames/s and restarted 10 s later. Afterwards a plain
// subscriber with a persistent session has every frame at least once, and
// the importing region shows every seq exactly once, in order.
func TestBrokerKillDuringExport(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	forEachBackplane(t, testBrokerKillDuringExport)
}

func testBrokerKillDuringExport(t *testing.T, open opener) {
	const n = 1400 // 1 s before the kill, 10 s down, 3 s after
	// "user root": started as root, mosquitto would switch to the user
	// mosquitto, which cannot write the test's directory; as any other
	// user the line has no effect.
	mq := testenv.StartMosquitto(t, &testenv.MosquittoOptions{Persistence: true, AutosaveInterval: 1, Config: []string{"user root"}})
	eu, us := open("eu"), open("us")
	a := newAgent(t, eu, "pi-eu", "eu", nil)
	presubscribe(t, mq.Addr(), "edgeplane-bridge-us", "edgeplane/+/+")
	wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/+/+")
	subscribed := time.Now()
	// The sessions must be in mosquitto's persistence file before the kill,
	// or the restarted broker would not know them.
	db := filepath.Join(mq.Dir(), "mosquitto.db")
	eventually(t, "sessions saved by mosquitto", func() bool {
		st, err := os.Stat(db)
		return err == nil && st.ModTime().After(subscribed.Add(100*time.Millisecond))
	})
	startBridge(t, open("eu"), mq.Addr(), linkConfig("eu", ""))
	startBridge(t, open("us"), mq.Addr(), linkConfig("us", ""))

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var killedAt time.Time
	for i := 1; i <= n; i++ {
		<-tick.C
		a.send(t)
		switch {
		case i == 100:
			mq.Kill()
			killedAt = time.Now()
		case i > 100 && killedAt.IsZero() == false && time.Since(killedAt) > 10*time.Second:
			mq.Restart()
			killedAt = time.Time{}
		}
	}
	if !killedAt.IsZero() {
		mq.Restart()
	}

	seen := map[uint64]int{}
	for len(seen) < n {
		m := wire.next(t)
		for _, s := range wireFrames(t, m.Payload) {
			seen[s.Seq]++
		}
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("subscriber: %d frames, %d received more than once", len(seen), dups)
	eventually(t, "every frame imported in us", func() bool { return len(storedFrames(t, us, "pi-eu")) >= n })
	checkSeqs(t, "us dev/pi-eu", storedFrames(t, us, "pi-eu"), n)
}

// TestBridgeRestartResumes: a stopped bridge's successor, on the same
// backplane, resumes every channel from the stored cursor: the frames
// after it are exported, the ones before it are not sent again.
func TestBridgeRestartResumes(t *testing.T) {
	forEachBackplane(t, testBridgeRestartResumes)
}

func testBridgeRestartResumes(t *testing.T, open opener) {
	mq := testenv.StartMosquitto(t, nil)
	a := newAgent(t, open("eu"), "pi-eu", "eu", nil)
	wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/+/+")

	upTo := func(seq uint64) (first uint64) {
		t.Helper()
		for {
			fs := wireFrames(t, wire.next(t).Payload)
			if first == 0 {
				first = fs[0].Seq
			}
			if fs[len(fs)-1].Seq >= seq {
				return first
			}
		}
	}
	b1 := startBridge(t, open("eu"), mq.Addr(), linkConfig("eu", ""))
	for range 50 {
		a.send(t)
	}
	if first := upTo(50); first != 1 {
		t.Fatalf("first run began at seq %d", first)
	}
	// The subscriber can have frame 50 before the bridge has its PUBACK;
	// stopped then, the bridge would (rightly) send 49 and 50 again.
	eventually(t, "every frame acknowledged", func() bool {
		return counter(t, b1, "edgeplane_bridge_export_lag_frames") == 0
	})
	b1.stop()
	for range 50 {
		a.send(t)
	}
	startBridge(t, open("eu"), mq.Addr(), linkConfig("eu", ""))
	if first := upTo(100); first != 51 {
		t.Fatalf("second run began at seq %d, want 51 (the one after the stored cursor)", first)
	}
}

// TestExportingBridgeKilled: the exporting bridge, a separate process on
// the Redis backplane, is killed with SIGKILL twice during a steady stream
// of 100 frames/s and started again. The new process resumes from the
// stored cursor (re-sending at most what followed the last stored one), and
// the importing region has every seq exactly once, in order.
func TestExportingBridgeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	const n = 300
	mq := testenv.StartMosquitto(t, nil)
	rds := testenv.StartRedis(t, nil)
	prefix := "crash"
	open := func(region string) backplane.Backplane {
		b, err := redis.New(&redis.Options{Addrs: []string{rds.Addr()}, Prefix: prefix + "-" + region, Region: region, HistorySize: 100000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	eu, us := open("eu"), open("us")
	a := newAgent(t, eu, "pi-eu", "eu", nil)
	presubscribe(t, mq.Addr(), "edgeplane-bridge-us", "edgeplane/+/+")
	wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/+/+")
	startBridge(t, us, mq.Addr(), linkConfig("us", ""))

	cfgPath := filepath.Join(t.TempDir(), "eu.hcl")
	src := strings.ReplaceAll(linkConfig("eu", `cursor_interval = "100ms"`), "{{broker}}", mq.Addr())
	src = strings.Replace(src, `addrs = ["unused:1"]`, fmt.Sprintf("addrs = [%q]\n  prefix = %q", rds.Addr(), prefix+"-eu"), 1)
	if err := os.WriteFile(cfgPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var child *exec.Cmd
	startChild := func() {
		t.Helper()
		child = exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), childConfigEnv+"="+cfgPath)
		child.Stderr = t.Output()
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
	}
	kill := func() {
		t.Helper()
		_ = child.Process.Kill()
		_ = child.Wait()
	}
	startChild()
	t.Cleanup(kill)

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := 1; i <= n; i++ {
		<-tick.C
		a.send(t)
		if i == 100 || i == 200 {
			kill()
			startChild()
		}
	}
	seen := map[uint64]int{}
	for len(seen) < n {
		for _, s := range wireFrames(t, wire.next(t).Payload) {
			seen[s.Seq]++
		}
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("subscriber: %d frames, %d sent again after a kill", len(seen), dups)
	eventually(t, "every frame imported in us", func() bool { return len(storedFrames(t, us, "pi-eu")) >= n })
	checkSeqs(t, "us dev/pi-eu", storedFrames(t, us, "pi-eu"), n)
}
