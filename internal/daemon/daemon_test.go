package daemon_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/edgeplane/edgeplane/internal/daemon"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// notifySocket listens where systemd would, and returns what it receives.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	msgs := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return msgs
}

// The watchdog pings while the daemon is healthy, stops pinging while it is
// not (so systemd restarts a daemon whose sampler hangs), and pings again
// when it recovers. Ready and Stopping reach the socket too.
func TestWatchdogFollowsHealth(t *testing.T) {
	msgs := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "40000") // 40 ms: pings every 20 ms
	var sick atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		daemon.Watchdog(ctx, func() error {
			if sick.Load() {
				return errors.New("sampler hung")
			}
			return nil
		})
	}()
	defer func() { cancel(); <-done }()

	next := func(within time.Duration) (string, bool) {
		select {
		case m := <-msgs:
			return m, true
		case <-time.After(within):
			return "", false
		}
	}
	if m, ok := next(5 * time.Second); !ok || m != "WATCHDOG=1" {
		t.Fatalf("healthy: got %q (%v), want WATCHDOG=1", m, ok)
	}
	sick.Store(true)
	// Drain a ping that may have been on its way, then expect silence for
	// many intervals: systemd's timer runs out.
	next(50 * time.Millisecond)
	if m, ok := next(300 * time.Millisecond); ok {
		t.Fatalf("unhealthy daemon sent %q", m)
	}
	sick.Store(false)
	if m, ok := next(5 * time.Second); !ok || m != "WATCHDOG=1" {
		t.Fatalf("recovered: got %q (%v), want WATCHDOG=1", m, ok)
	}
	daemon.Ready()
	daemon.Stopping()
	seen := map[string]bool{}
	for !seen["READY=1"] || !seen["STOPPING=1"] {
		m, ok := next(5 * time.Second)
		if !ok {
			t.Fatalf("READY=1 and STOPPING=1 not both received: %v", seen)
		}
		seen[m] = true
	}
}

// Without a watchdog configured, Watchdog returns at once.
func TestWatchdogOff(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	done := make(chan struct{})
	go func() { daemon.Watchdog(context.Background(), nil); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watchdog without WATCHDOG_USEC did not return")
	}
}

// TestOnHangup: a real SIGHUP to this process runs reload; after stop, the
// handler is gone and the goroutine has ended (goleak).
func TestOnHangup(t *testing.T) {
	reloads := make(chan struct{}, 4)
	stop := daemon.OnHangup(func() { reloads <- struct{}{} })
	for i := range 2 {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case <-reloads:
		case <-time.After(10 * time.Second):
			t.Fatalf("SIGHUP %d: no reload within 10 s", i+1)
		}
	}
	stop()
}
