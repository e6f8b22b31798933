package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// rssBytes reads a process's resident set size from /proc.
func rssBytes(tb testing.TB, pid int) int64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// BenchmarkIdleDashboardMemory: what one idle dashboard connection (one
// subscription, nothing flowing) costs an edgeplane-hubd process, in resident
// memory. b.N connections are opened against a fresh hub process; the
// figure is the RSS growth divided by b.N (bytes/conn).
//
//	go test ./internal/e2e -run '^$' -bench IdleDashboardMemory -benchtime 2000x
func BenchmarkIdleDashboardMemory(b *testing.B) {
	bin := buildBinaries(b, "./hubd/cmd/edgeplane-hubd")
	ln := freePort(b)
	addr := "127.0.0.1:" + strconv.Itoa(ln)
	hub := exec.Command(filepath.Join(bin, "edgeplane-hubd"), "-config", "configs/hubd-demo.hcl", "-listen", addr)
	hub.Dir = repoRoot(b)
	if err := hub.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = hub.Process.Kill(); _ = hub.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dial := func() *websocket.Conn {
		for {
			c, _, err := websocket.Dial(ctx, "ws://"+addr+"/v1/ws", &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}})
			if err == nil {
				return c
			}
			if ctx.Err() != nil {
				b.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the hub is starting
		}
	}
	// One connection first, so that the baseline includes the hub's warm-up.
	first := dial()
	defer first.CloseNow()
	before := rssBytes(b, hub.Process.Pid)
	conns := make([]*websocket.Conn, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := dial()
		sub, _ := frame.AppendClient(nil, &frame.ClientMessage{Op: frame.OpSub, ID: 1, HasID: true, Ch: fmt.Sprintf("dev/idle-%d", i%100)}, frame.ProtoJSON)
		if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil { // the ok
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	b.StopTimer()
	after := rssBytes(b, hub.Process.Pid)
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/conn")
	for _, c := range conns {
		c.CloseNow()
	}
}
