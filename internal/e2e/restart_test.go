package e2e_test

import (
	"context"
	"testing"
)

// After the hub restarts (memory backplane: all history gone, a new epoch),
// the agent reconnects and resends what was not ACKed, and a dashboard
// client that reconnects by itself ends with every device seq exactly once.
func TestHubRestart(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	f := newFollower("dev/pi-4", h.wsURL())
	fctx, fstop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.run(fctx) }()
	f.waitReady(t, ctx)
	runAgent(t, h.agentURL(), fastAgent("pi-4"))

	before := f.waitSeq(t, ctx, 40)
	h.stop() // drain: dashboards and the agent get 1001
	startHub(t, h.addr, nil)
	f.waitSeq(t, ctx, before+100)
	fstop()
	<-done

	if f.resets == 0 {
		t.Fatal("the client never learnt that the history was lost")
	}
	f.checkExactlyOnce(t)
	if !t.Failed() {
		t.Logf("seqs 1..%d each exactly once across the restart (%d reset)", f.maxSeq, f.resets)
	}
}
