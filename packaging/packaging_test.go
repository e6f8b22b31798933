// Tests of what ships: systemd units, cross builds that run, and .deb packages.
package packaging_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/frame"
)

var daemons = []string{"agent", "hubd", "bridge"}

// need returns the path of a program, skipping the test when it is missing
// (failing under CI=true, where scripts/deps.sh installs it).
func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		msg := prog + " not found; run scripts/deps.sh (as root) or apt-get install the package that has it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// verifyRoot builds a filesystem root for `systemd-analyze verify --root`:
// the host's own units (for sysinit.target and friends) plus executables at
// the paths our units name.
func verifyRoot(t *testing.T, units map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/lib/systemd", "etc/systemd/system", "usr/bin", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "", nil, "cp", "-r", "/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/"))
	for _, exe := range []string{"usr/bin/edgeplane-agent", "usr/bin/edgeplane-hubd", "usr/bin/edgeplane-bridge", "bin/kill"} {
		if err := os.WriteFile(filepath.Join(root, exe), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range units {
		if err := os.WriteFile(filepath.Join(root, "etc/systemd/system", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// analyze runs systemd-analyze verify and returns what it printed. It exits 0
// on unknown keys and misspelt values, so the output is the verdict.
func analyze(t *testing.T, root, unit string) string {
	t.Helper()
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root, "/etc/systemd/system/"+unit)
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

func TestUnitsVerify(t *testing.T) {
	need(t, "systemd-analyze")
	if _, err := os.Stat("/lib/systemd/system/sysinit.target"); err != nil {
		t.Skip("no systemd units on this host to verify against")
	}
	units := map[string][]byte{}
	for _, d := range daemons {
		b, err := os.ReadFile(filepath.Join("systemd", "edgeplane-"+d+".service"))
		if err != nil {
			t.Fatal(err)
		}
		units["edgeplane-"+d+".service"] = b
	}
	// A negative control: the same check must catch a misspelt key and type.
	bad := bytes.Replace(units["edgeplane-agent.service"], []byte("Type=notify"), []byte("Type=notfy"), 1)
	bad = bytes.Replace(bad, []byte("WatchdogSec="), []byte("WatchdgSec="), 1)
	units["typo.service"] = bad
	root := verifyRoot(t, units)

	for _, d := range daemons {
		if out := analyze(t, root, "edgeplane-"+d+".service"); out != "" {
			t.Errorf("systemd-analyze verify edgeplane-%s.service printed:\n%s", d, out)
		}
	}
	out := analyze(t, root, "typo.service")
	for _, want := range []string{"notfy", "WatchdgSec"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify did not report %q in a broken unit; it printed:\n%s", want, out)
		}
	}
}

func TestUnitsHardening(t *testing.T) {
	common := []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "ProtectSystem=strict", "ProtectHome=yes",
		"NoNewPrivileges=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/edgeplane/", "CapabilityBoundingSet=\n", "User=edgeplane"}
	agent := []string{"SupplementaryGroups=gpio i2c", "DevicePolicy=closed", "DeviceAllow=char-gpiochip rw",
		"DeviceAllow=char-i2c rw", "AF_NETLINK"}
	for _, d := range daemons {
		b, err := os.ReadFile(filepath.Join("systemd", "edgeplane-"+d+".service"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		want := common
		if d == "agent" {
			want = append(append([]string{}, common...), agent...)
			if strings.Contains(s, "\nPrivateDevices=") {
				t.Errorf("agent unit has PrivateDevices=yes: it would hide /dev/gpiochip* and /dev/i2c-*")
			}
		}
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("edgeplane-%s.service lacks %q", d, strings.TrimSpace(w))
			}
		}
	}
}

func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages")
	}
	need(t, "dpkg-deb")
	root := repoRoot(t)
	dist := t.TempDir()
	run(t, root, []string{"DIST=" + dist, "VERSION=v1.2.3"}, "scripts/packages.sh", "amd64")

	for _, d := range daemons {
		deb := filepath.Join(dist, "edgeplane-"+d+"_1.2.3_amd64.deb")
		info := run(t, "", nil, "dpkg-deb", "-I", deb)
		for _, w := range []string{"Package: edgeplane-" + d, "Architecture: amd64", "Version: 1.2.3", "Depends: adduser",
			"preinst", "postinst", "prerm", "postrm", "conffiles"} {
			if !strings.Contains(info, w) {
				t.Errorf("%s: dpkg-deb -I lacks %q:\n%s", filepath.Base(deb), w, info)
			}
		}
		conff := run(t, "", nil, "dpkg-deb", "-f", deb, "Package") // sanity: field access works
		if strings.TrimSpace(conff) != "edgeplane-"+d {
			t.Errorf("package field = %q", conff)
		}
		contents := run(t, "", nil, "dpkg-deb", "-c", deb)
		for _, w := range []string{"./usr/bin/edgeplane-" + d, "./lib/systemd/system/edgeplane-" + d + ".service",
			"./etc/edgeplane/" + d + ".hcl", "./var/lib/edgeplane/" + d + "/"} {
			if !strings.Contains(contents, w) {
				t.Errorf("%s: dpkg-deb -c lacks %s:\n%s", filepath.Base(deb), w, contents)
			}
		}
		ctl := t.TempDir()
		run(t, "", nil, "dpkg-deb", "-e", deb, ctl)
		cf, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
		if err != nil || strings.TrimSpace(string(cf)) != "/etc/edgeplane/"+d+".hcl" {
			t.Errorf("%s: conffiles = %q, %v; want the example config", filepath.Base(deb), cf, err)
		}
	}

	t.Run("install", func(t *testing.T) {
		if os.Geteuid() != 0 || runtime.GOOS != "linux" {
			t.Skip("installing a package needs root")
		}
		if os.Getenv("CI") != "true" && os.Getenv("EDGEPLANE_TEST_INSTALL") != "1" {
			t.Skip("installs into this machine; set EDGEPLANE_TEST_INSTALL=1 (CI does)")
		}
		need(t, "dpkg")
		deb := filepath.Join(dist, "edgeplane-agent_1.2.3_amd64.deb")
		run(t, "", nil, "dpkg", "-i", deb)
		t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "edgeplane-agent").Run() })

		if out := run(t, "", nil, "/usr/bin/edgeplane-agent", "-version"); !strings.Contains(out, "1.2.3") {
			t.Errorf("installed agent -version = %q", out)
		}
		run(t, "", nil, "/usr/bin/edgeplane-agent", "-check", "-config", "/etc/edgeplane/agent.hcl")
		run(t, "", nil, "getent", "passwd", "edgeplane")
		if out := run(t, "", nil, "stat", "-c", "%U:%G %a", "/var/lib/edgeplane/agent"); strings.TrimSpace(out) != "edgeplane:edgeplane 750" {
			t.Errorf("/var/lib/edgeplane/agent is %q, want edgeplane:edgeplane 750", out)
		}
		if out := run(t, "", nil, "stat", "-c", "%G %a", "/etc/edgeplane/agent.hcl"); strings.TrimSpace(out) != "edgeplane 640" {
			t.Errorf("/etc/edgeplane/agent.hcl is %q, want group edgeplane, mode 640", out)
		}
		if _, err := exec.LookPath("systemd-analyze"); err == nil {
			out, _ := exec.Command("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/edgeplane-agent.service").CombinedOutput()
			if s := strings.TrimSpace(string(out)); s != "" {
				t.Errorf("systemd-analyze verify of the installed unit printed:\n%s", s)
			}
		}
		run(t, "", nil, "dpkg", "--purge", "edgeplane-agent")
		if _, err := os.Stat("/usr/bin/edgeplane-agent"); !os.IsNotExist(err) {
			t.Errorf("purge left /usr/bin/edgeplane-agent: %v", err)
		}
	})
}

// The arm64 and armv7 builds run: under qemu-user, every daemon prints its
// version, and the arm64 agent on simulated sensors publishes to an amd64
// hub where a dashboard client sees its frames.
func TestCrossQemu(t *testing.T) {
	if testing.Short() {
		t.Skip("cross builds and emulates")
	}
	qemu := map[string]string{"linux_arm64": need(t, "qemu-aarch64-static"), "linux_armv7": need(t, "qemu-arm-static")}
	root := repoRoot(t)
	dist := t.TempDir()
	run(t, root, []string{"DIST=" + dist, "VERSION=v9.8.7"}, "scripts/cross.sh", "linux_arm64", "linux_armv7", "linux_amd64")
	for target, emu := range qemu {
		for _, d := range daemons {
			bin := filepath.Join(dist, target, "edgeplane-"+d)
			file := run(t, "", nil, "file", "-b", bin)
			if !strings.Contains(file, "statically linked") || !strings.Contains(file, "ARM") {
				t.Errorf("%s: %s", bin, file)
			}
			out := run(t, "", nil, emu, bin, "-version")
			if !strings.Contains(out, "v9.8.7") || !strings.Contains(out, "go1.") {
				t.Errorf("%s -version under %s = %q", bin, filepath.Base(emu), out)
			}
		}
	}

	// An amd64 hub, an emulated arm64 agent, a dashboard client.
	port := freePort(t)
	hub := exec.Command(filepath.Join(dist, "linux_amd64", "edgeplane-hubd"), "-config", "configs/hubd-demo.hcl", "-listen", "127.0.0.1:"+strconv.Itoa(port))
	hub.Dir = root
	startDaemon(t, hub)
	waitListening(t, port)
	agent := exec.Command(qemu["linux_arm64"], filepath.Join(dist, "linux_arm64", "edgeplane-agent"),
		"-config", "configs/agent-demo.hcl", "-hub-url", "ws://127.0.0.1:"+strconv.Itoa(port)+"/v1/agent")
	agent.Dir = root
	startDaemon(t, agent)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+strconv.Itoa(port)+"/v1/ws", &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	sub, _ := frame.AppendClient(nil, &frame.ClientMessage{Op: frame.OpSub, ID: 1, HasID: true, Ch: "dev/demo-pi"}, frame.ProtoJSON)
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	frames := 0
	for frames < 3 {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for frames of the emulated arm64 agent: %v", err)
		}
		ms, err := frame.DecodeServer(b, frame.ProtoJSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if f, ok := m.(*frame.DashFrame); ok && f.Device == "demo-pi" && len(f.Samples) > 0 {
				frames++
			}
		}
	}
}

// startDaemon starts cmd and stops it (SIGTERM, then SIGKILL) at the end of the test.
func startDaemon(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), out.String())
		}
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
