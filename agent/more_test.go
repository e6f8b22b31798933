package agent_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSpoolKeepsFramesAcrossRestarts(t *testing.T) {
	h := newTestHub(t)
	dir := t.TempDir()
	src := uplinkAgent + "spool {\n  dir = \"" + dir + "\"\n  sync = \"never\"\n}\n"

	_, stop := startAgent(t, h, src)
	c1 := h.accept()
	if c1.hello.FirstSeq != 1 {
		t.Fatalf("fresh spool: first_seq %d", c1.hello.FirstSeq)
	}
	c1.send(&frame.Welcome{HubID: "hub-a", Region: "eu"})
	readFrames(t, c1, 1, 6)
	c1.send(&frame.Ack{Seq: 4})
	// agent.info answers after the ACK was handled: they share the reader.
	if res, _ := c1.command("i", "agent.info", nil); res.Result.(map[string]any)["first_seq"].(uint64) != 5 {
		t.Fatalf("after ACK 4: %v", res.Result)
	}
	h.closeAll()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A new process on the same spool: same spool id, frames 5.. still
	// there, and seq goes on where it was.
	startAgent(t, h, src)
	c2 := h.accept()
	if c2.hello.SpoolID != c1.hello.SpoolID || c2.hello.FirstSeq != 5 {
		t.Fatalf("after restart: spool %q first_seq %d, want %q and 5", c2.hello.SpoolID, c2.hello.FirstSeq, c1.hello.SpoolID)
	}
	c2.send(&frame.Welcome{HubID: "hub-a", Region: "eu", AckedSeq: 4})
	var last uint64
	want := uint64(5)
	for want < 20 {
		f := c2.frame()
		if f.Seq != want {
			t.Fatalf("after restart: FRAME %d, want %d", f.Seq, want)
		}
		last = f.Seq
		want++
	}
	if last < 7 {
		t.Fatalf("no new frames after the restart")
	}
}

func TestHubFailover(t *testing.T) {
	// The first URL refuses connections; the agent moves on to the second.
	dead := "ws://" + freeAddr(t) + "/v1/agent"
	h := newTestHub(t)
	src := strings.Replace(uplinkAgent, `url = "HUB"`, `urls = ["`+dead+`", "HUB"]`, 1)
	startAgent(t, h, src)
	c := h.accept()
	c.send(&frame.Welcome{HubID: "hub-b", Region: "eu"})
	readFrames(t, c, 1, 2)
}

func TestTLSWithCAFile(t *testing.T) {
	h := &testHub{t: t, conns: make(chan *hubConn, 4)}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() {
		h.closeAll()
		h.srv.Close()
	})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	url := "wss" + strings.TrimPrefix(h.srv.URL, "https") + "/v1/agent"
	cfg, err := agent.ParseConfig("tls.hcl", []byte(`
device_id = "pi-tls"
hub {
  url = "`+url+`"
  ca_file = "`+ca+`"
  reconnect_min = "10ms"
  reconnect_max = "20ms"
}
sensor "sim.sine" "t" { period = "10ms" }
`))
	if err != nil {
		t.Fatal(err)
	}
	// No HTTPClient: the agent builds one trusting ca_file only.
	a, err := agent.New(cfg, &agent.Options{Logger: testLogger(t), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		h.closeAll()
		cancel()
		<-done
	}()
	c := h.accept()
	if c.hello.DeviceID != "pi-tls" {
		t.Fatalf("HELLO %+v", c.hello)
	}
}

// runReadyAgent runs an agent of cfg against h until the end of the test,
// welcomes its link and returns once the agent is Ready.
func runReadyAgent(t *testing.T, h *testHub, cfg *agent.Config, reg *prometheus.Registry) (*agent.Agent, *hubConn) {
	t.Helper()
	ready := make(chan struct{})
	a, err := agent.New(cfg, &agent.Options{Logger: testLogger(t), Registerer: reg, HTTPClient: &http.Client{}, Ready: func() { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		h.closeAll()
		cancel()
		<-done
	})
	c := h.accept()
	c.send(&frame.Welcome{HubID: "hub-a", Region: "eu"})
	<-ready
	return a, c
}

func TestMetricsEndpoint(t *testing.T) {
	addr := freeAddr(t)
	h := newTestHub(t)
	reg := prometheus.NewRegistry()
	cfg, err := agent.ParseConfig("m.hcl", []byte(strings.ReplaceAll(uplinkAgent, "HUB", h.url())+`metrics { listen = "`+addr+`" }`))
	if err != nil {
		t.Fatal(err)
	}
	_, c := runReadyAgent(t, h, cfg, reg) // the port is bound before Ready
	readFrames(t, c, 1, 3)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz %d %q", code, body)
	}
	code, body := get("/metrics")
	for _, want := range []string{"edgeplane_uplink_connected 1", "edgeplane_agent_frames_total", `edgeplane_uplink_dials_total{result="ok"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", code, want, body)
		}
	}
}

// TestMetricsOverTLS: with metrics.tls the endpoint speaks only TLS with
// the configured pair, and ReloadTLS (SIGHUP) serves a new pair to new
// connections; a pair that does not load is refused by the config check.
func TestMetricsOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	oldCA := testenv.WriteCertPair(t, certFile, keyFile)
	addr := freeAddr(t)

	h := newTestHub(t)
	src := strings.ReplaceAll(uplinkAgent, "HUB", h.url()) +
		fmt.Sprintf("metrics {\n  listen = %q\n  tls {\n    cert_file = %q\n    key_file = %q\n  }\n}\n", addr, certFile, keyFile)
	if _, err := agent.ParseConfig("m.hcl", []byte(strings.ReplaceAll(src, keyFile, filepath.Join(dir, "missing.pem")))); err == nil ||
		!strings.Contains(err.Error(), "m.hcl:") || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("a missing key file: %v, want an error at its line naming it", err)
	}
	cfg, err := agent.ParseConfig("m.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := runReadyAgent(t, h, cfg, prometheus.NewRegistry())
	testenv.CheckTLSReload(t, addr, "/healthz", certFile, keyFile, oldCA, a.ReloadTLS)
}

// freeAddr returns a 127.0.0.1 address that nothing listens on (it was
// free a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
