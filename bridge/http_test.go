package bridge_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestHTTP: /healthz answers while the bridge runs, /readyz once it is
// connected to the broker and 503 while the broker is down, /metrics has
// every bridge metric (labels created at 0) and passes promlint.
func TestHTTP(t *testing.T) {
	mq := testenv.StartMosquitto(t, nil)
	bp := newSharedBackplane(t)
	b := startBridge(t, bp, mq.Addr(), `
region = "eu"
listen = "127.0.0.1:0"
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
  reconnect_max = "300ms"
}
export "x" {}
`)
	eventually(t, "HTTP listener", func() bool { return b.Addr() != "" })
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + b.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	eventually(t, "/readyz 200", func() bool { code, _ := get("/readyz"); return code == 200 })
	mq.Kill()
	eventually(t, "/readyz 503 with the broker down", func() bool { code, _ := get("/readyz"); return code == 503 })
	mq.Restart()
	eventually(t, "/readyz 200 after the broker is back", func() bool { code, _ := get("/readyz"); return code == 200 })

	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics %d", code)
	}
	for _, want := range []string{
		"edgeplane_bridge_messages_in_total 0",
		"edgeplane_bridge_messages_out_total",
		`edgeplane_bridge_dropped_total{reason="own_origin"} 0`,
		`edgeplane_bridge_dropped_total{reason="history_lost"} 0`,
		"edgeplane_bridge_export_lag_frames 0",
		"edgeplane_bridge_connected 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, b)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestListenError: Run returns the listener's error at once, without
// leaving the MQTT connection running.
func TestListenError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := bridge.ParseConfig("l.hcl", []byte(`
region = "eu"
listen = "`+l.Addr().String()+`"
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://127.0.0.1:1"]
}
export "x" {}
`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(newSharedBackplane(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "bridge: listen") {
		t.Fatalf("Run: %v", err)
	}
}

// TestHTTPOverTLS: with a tls block the listener speaks only TLS with the
// configured pair, and ReloadTLS (SIGHUP) serves a new pair to new
// connections; a bad pair is refused by the config check and by a reload.
func TestHTTPOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	oldCA := testenv.WriteCertPair(t, certFile, keyFile)
	src := fmt.Sprintf(`
region = "eu"
listen = "127.0.0.1:0"
tls {
  cert_file = %q
  key_file  = %q
}
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://127.0.0.1:1"]
}
export "x" {}
`, certFile, keyFile)
	if _, err := bridge.ParseConfig("t.hcl", []byte(strings.ReplaceAll(src, keyFile, filepath.Join(dir, "missing.pem")))); err == nil ||
		!strings.Contains(err.Error(), "t.hcl:") || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("a missing key file: %v, want an error at its line naming it", err)
	}
	cfg, err := bridge.ParseConfig("t.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(newSharedBackplane(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	eventually(t, "HTTP listener", func() bool { return b.Addr() != "" })

	testenv.CheckTLSReload(t, b.Addr(), "/healthz", certFile, keyFile, oldCA, b.ReloadTLS)
}
