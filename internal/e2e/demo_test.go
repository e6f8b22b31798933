package e2e_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// buildBinaries builds the daemons the demo starts into a temp dir.
func buildBinaries(t testing.TB, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build", "-o", dir + "/"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// freePort returns a port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The `make run` demo, as processes: the first line it prints is the
// dashboard URL, a dashboard client on that hub gets frames of the simulated
// device within 5 s of the start, and Ctrl-C stops hub and agent cleanly.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemons")
	}
	bin := buildBinaries(t, "./hubd/cmd/edgeplane-hubd", "./agent/cmd/edgeplane-agent")
	cmd := exec.Command("scripts/demo.sh")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "BIN="+bin, "EDGEPLANE_PORT="+strconv.Itoa(freePort(t)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	first := <-lines
	m := regexp.MustCompile(`^dashboard: (http://127\.0\.0\.1:(\d+)/)$`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line %q is not the dashboard URL", first)
	}
	if hint := <-lines; !strings.Contains(hint, "edgeplane-watch") || !strings.Contains(hint, "dev/demo-pi") {
		t.Fatalf("second line %q is not the raw-frames hint", hint)
	}

	d := dialDash(t, "ws://127.0.0.1:"+m[2]+"/v1/ws", frame.ProtoJSON)
	d.sub(frame.ClientMessage{Ch: "dev/demo-pi"})
	fs := d.frames("dev/demo-pi", 2)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("first frames after %v, want within 5s", el)
	}
	sensors := map[string]bool{}
	for _, f := range fs {
		for _, s := range f.Samples {
			sensors[s.Sensor] = true
		}
	}
	if !sensors["temperature"] {
		t.Errorf("frames carry sensors %v, want the simulated temperature", sensors)
	}

	// Ctrl-C: the script stops both daemons and exits 0.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("demo exited with %v; output:\n%s", err, strings.Join(rest, "\n"))
		}
	case <-ctx.Done():
		t.Fatal("demo did not stop on Ctrl-C")
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+m[2]); err == nil {
		c.Close()
		t.Fatal("the hub still listens after Ctrl-C")
	}
	// Both daemons logged a clean stop.
	logs := regexp.MustCompile(`stopped \(logs in (\S+)\)`).FindStringSubmatch(strings.Join(rest, "\n"))
	if logs == nil {
		t.Fatalf("no stop line in %q", rest)
	}
	for _, f := range []string{"hubd.log", "agent.log"} {
		b, err := os.ReadFile(filepath.Join(logs[1], f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `stopped"`) {
			t.Errorf("%s does not end with a clean stop:\n%s", f, b)
		}
	}
	os.RemoveAll(logs[1])
}
