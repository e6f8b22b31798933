package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the server life cycle. Generous, because CI machines are slow
// and run tests in parallel under the race detector.
const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	probeTimeout = 500 * time.Millisecond
	pollInterval = 10 * time.Millisecond
	startTries   = 5
)

// errExited says the process ended before it became ready (typically: the
// port was taken between choosing and binding it).
var errExited = errors.New("testenv: server exited before it was ready")

// server is one child process on a fixed port. Its methods are used from the
// test goroutine; mu guards cmd and exited against the goroutine that waits
// for the process.
type server struct {
	t       testing.TB
	name    string // binary name, for messages
	bin     string // resolved path
	dir     string
	logPath string
	// config writes the configuration for port into dir and returns the
	// process arguments.
	config func(port int) ([]string, error)
	// probe returns nil once the server at addr serves requests.
	probe func(ctx context.Context, addr string) error

	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited; nil when never started
}

// lookBinary finds name on PATH, or skips (fails under CI=true) with the
// install command.
func lookBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("testenv: %s not found on PATH; install it with: sudo apt-get install -y %s", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freePort returns a port that was free a moment ago. Another process may
// take it before the server binds it; start retries with a new port then.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("testenv: free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("testenv: free port: %w", err)
		}
		if port != 6379 && port != 1883 {
			return port, nil
		}
	}
	return 0, errors.New("testenv: no free port")
}

// startFresh starts the server on a new free port, retrying with another
// port when the process exits before it is ready, and registers the cleanup.
func (s *server) startFresh() {
	s.t.Helper()
	s.t.Cleanup(s.cleanup)
	var err error
	for range startTries {
		var port int
		port, err = freePort()
		if err != nil {
			break
		}
		s.port = port
		if err = s.startOnce(); err == nil {
			return
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	s.t.Fatalf("testenv: start %s: %v\n%s", s.name, err, s.logTail())
}

// Addr is the server's host:port.
func (s *server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port; it stays the same across Restart.
func (s *server) Port() int { return s.port }

// Dir is the server's directory (configuration, data, log).
func (s *server) Dir() string { return s.dir }

// startOnce runs the process on s.port and waits until it is ready.
func (s *server) startOnce() error {
	args, err := s.config(s.port)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testenv: open log: %w", err)
	}
	fmt.Fprintf(logf, "--- testenv: starting %s on port %d\n", s.name, s.port)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = childAttr()
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// The child gets SIGKILL when the thread that started it ends (see
		// childAttr), so that a test binary killed by a timeout leaves no
		// servers behind; keep that thread until the child has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(exited)
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("testenv: exec %s: %w", s.bin, err)
			return
		}
		started <- nil
		_ = cmd.Wait() // the exit status of a killed test server is not interesting
	}()
	if err := <-started; err != nil {
		<-exited
		return err
	}
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return s.waitReady(exited)
}

// waitReady polls the probe until it succeeds, the process exits, or the
// deadline passes.
func (s *server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: %s not ready after %v: %w", s.name, readyTimeout, last)
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		last = s.probe(ctx, s.Addr())
		cancel()
		if last == nil {
			select {
			case <-exited: // something else answered on our port
				return errExited
			default:
				return nil
			}
		}
		select {
		case <-exited:
			return errExited
		case <-time.After(pollInterval):
		}
	}
}

// running returns the process and its exit channel, or nil if it is not
// running.
func (s *server) running() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil, nil
	}
	select {
	case <-s.exited:
		return nil, nil
	default:
		return s.cmd, s.exited
	}
}

// Kill sends SIGKILL and waits until the process is gone, like a crash or a
// power cut of the server. Killing a stopped server is a no-op.
func (s *server) Kill() {
	s.t.Helper()
	if err := s.signalAndWait(syscall.SIGKILL); err != nil {
		s.t.Fatalf("testenv: kill %s: %v", s.name, err)
	}
}

// Stop asks the server to shut down (SIGTERM) and waits; Redis writes its
// append-only file, mosquitto its persistence file. After stopTimeout it is
// killed.
func (s *server) Stop() {
	s.t.Helper()
	if err := s.signalAndWait(syscall.SIGTERM); err != nil {
		s.t.Fatalf("testenv: stop %s: %v", s.name, err)
	}
}

func (s *server) signalAndWait(sig syscall.Signal) error {
	cmd, exited := s.running()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if sig != syscall.SIGKILL {
		// A paused process handles SIGTERM only once continued.
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-exited
	return nil
}

// Restart starts the server again on the same port with the same directory
// and waits until it is ready. A running server is killed first (SIGKILL).
// What it remembers depends on its persistence options.
func (s *server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for range startTries {
		if err = s.startOnce(); err == nil || !errors.Is(err, errExited) {
			break
		}
		time.Sleep(100 * time.Millisecond) // port still held by the old process's sockets
	}
	if err != nil {
		s.t.Fatalf("testenv: restart %s: %v\n%s", s.name, err, s.logTail())
	}
}

// Pause stops the process (SIGSTOP): its port still accepts connections
// (the kernel completes handshakes) but nothing is answered, like a server
// stalled by swapping or a long fork.
func (s *server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume continues a paused process (SIGCONT).
func (s *server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	cmd, _ := s.running()
	if cmd == nil {
		s.t.Fatalf("testenv: %s is not running", s.name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("testenv: signal %s: %v", s.name, err)
	}
}

// cleanup kills the process and, when the test failed, logs the end of the
// server's log.
func (s *server) cleanup() {
	if err := s.signalAndWait(syscall.SIGKILL); err != nil {
		s.t.Errorf("testenv: kill %s: %v", s.name, err)
	}
	if s.t.Failed() {
		s.t.Logf("testenv: %s log (%s):\n%s", s.name, s.logPath, s.logTail())
	}
}

// logTail returns the last few KiB of the server's log.
func (s *server) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 4 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// writeFile writes a configuration file into dir.
func writeFile(dir, name, content string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return "", fmt.Errorf("testenv: write %s: %w", p, err)
	}
	return p, nil
}
