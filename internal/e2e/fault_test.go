package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// historyFrames reads every stored frame of ch through a dashboard sub with
// history, and returns them with the channel's top offset.
func historyFrames(t *testing.T, url, ch string) []*frame.DashFrame {
	t.Helper()
	d := dialDash(t, url, frame.ProtoCBOR)
	ok := d.sub(frame.ClientMessage{Ch: ch, History: 100_000})
	if ok.Off == 0 {
		return nil
	}
	fs := d.frames(ch, int(ok.Off))
	d.c.CloseNow()
	return fs
}

// checkSeqsOnce fails unless the frames' seqs are exactly 1..N in order.
func checkSeqsOnce(t *testing.T, fs []*frame.DashFrame) {
	t.Helper()
	if len(fs) == 0 {
		t.Fatal("no frames stored")
	}
	for i, f := range fs {
		if f.Seq != uint64(i+1) {
			t.Fatalf("frame %d of %d has seq %d (previous %d): seqs are not exactly 1..N", i+1, len(fs), f.Seq, fs[max(i-1, 0)].Seq)
		}
	}
}

// A real agent process with a disk spool is killed with SIGKILL at random
// moments, 50 times, while it samples a fast sensor; each time it is started
// again. At the hub the stored seqs are exactly 1..N, none missing, none
// twice. (kill -9 keeps the page cache, so this holds with sync = "never".)
func TestAgentKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a real agent process 50 times")
	}
	bin := buildBinaries(t, "./agent/cmd/edgeplane-agent")
	h := startHub(t, "127.0.0.1:0", func(c *hubd.Config) {
		c.Backplane = &hubd.BackplaneConfig{Type: "memory", HistorySize: 100_000}
	})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "agent.hcl")
	cfg := fmt.Sprintf(`
device_id      = "pi-kill"
flush_interval = "10ms"
hub {
  url           = %q
  reconnect_min = "20ms"
  reconnect_max = "100ms"
}
spool {
  dir  = %q
  sync = "never"
}
sensor "sim.sine" "t" {
  period     = "2ms"
  resolution = 0.01
}
`, h.agentURL(), filepath.Join(dir, "spool"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	runs := 0
	start := func() *exec.Cmd {
		runs++
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("agent-%d.log", runs)))
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd := exec.Command(filepath.Join(bin, "edgeplane-agent"), "-config", cfgPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	const kills = 50
	for i := 0; i < kills; i++ {
		cmd := start()
		// A random moment: anywhere from start-up to well into sending.
		time.Sleep(time.Duration(rng.IntN(300)+20) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}

	// A last run that is left alone: it resends what the spool still holds.
	cmd := start()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() { // what the last agent said, and the one before it
			for _, n := range []int{runs - 1, runs} {
				b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("agent-%d.log", n)))
				t.Logf("agent run %d:\n%s", n, b)
			}
		}
	})
	d := dialDash(t, h.wsURL(), frame.ProtoJSON)
	d.sub(frame.ClientMessage{Ch: "dev/pi-kill"})
	live := d.frames("dev/pi-kill", 20) // the agent is connected and caught up past these
	fs := historyFrames(t, h.wsURL(), "dev/pi-kill")
	checkSeqsOnce(t, fs)
	if last := live[len(live)-1].Seq; fs[len(fs)-1].Seq < last {
		t.Fatalf("history ends at seq %d, before the live seq %d", fs[len(fs)-1].Seq, last)
	}
	dups := metricSum(context.Background(), "http://"+h.addr+"/metrics", "edgeplane_hub_duplicates_total")
	t.Logf("%d kills: seqs 1..%d stored exactly once (%.0f resent duplicates dropped by the hub)", kills, len(fs), dups)
}

// The hub is down for 30 s while the agent samples at 50 Hz; afterwards
// every frame arrives: a dashboard client that stays on (reconnecting by
// itself) ends with every seq exactly once, and every second of the outage
// has its samples.
func TestHubOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a hub down for 30 s")
	}
	h := startHub(t, "127.0.0.1:0", nil)
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+3*waitTimeout)
	defer cancel()
	f := newFollower("dev/pi-out", h.wsURL())
	fctx, fstop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.run(fctx) }()
	f.waitReady(t, ctx)
	runAgent(t, h.agentURL(), fmt.Sprintf(`
device_id      = "pi-out"
flush_interval = "100ms"
hub {
  url           = "ws://127.0.0.1:1/v1/agent"
  reconnect_min = "100ms"
  reconnect_max = "1s"
}
spool {
  dir = %q
}
sensor "sim.sine" "t" {
  period     = "20ms"
  resolution = 0.01
}
`, filepath.Join(dir, "spool")))

	f.waitSeq(t, ctx, 5)
	h.stop()
	outage := time.Now()
	time.Sleep(30 * time.Second) // the outage itself is what is under test
	startHub(t, h.addr, nil)
	f.waitTime(t, ctx, outage.Add(31*time.Second))
	fstop()
	<-done

	f.checkExactlyOnce(t)
	// What was sampled while the hub was down arrived too: every second of
	// the outage has its samples. (The sampler may skip a tick when the
	// machine is loaded; frames are what must not be lost, and the seqs
	// above show none was.)
	perSecond := map[int64]int{}
	for ts := range f.times {
		perSecond[(ts-outage.UnixNano())/int64(time.Second)]++
	}
	for sec := int64(0); sec < 30; sec++ {
		if perSecond[sec] < 5 { // 50 expected; a loaded machine skips ticks (counted by the agent)
			t.Errorf("second %d of the outage: %d samples, want about 50", sec, perSecond[sec])
		}
	}
	t.Logf("30 s hub outage: seqs 1..%d and %d samples, every one exactly once", f.maxSeq, len(f.times))
}
