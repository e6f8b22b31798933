package bridge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/testenv"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
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
	writePair := func() *x509.CertPool {
		t.Helper()
		certPEM, keyPEM, err := tlsutil.SelfSigned("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		return pool
	}
	oldCA := writePair()
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

	get := func(scheme string, pool *x509.CertPool) (int, error) {
		t.Helper()
		cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
		}}
		resp, err := cl.Get(scheme + "://" + b.Addr() + "/healthz")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("https", oldCA); err != nil || code != 200 {
		t.Fatalf("https /healthz: %d, %v", code, err)
	}
	if code, err := get("http", nil); err == nil && code == 200 {
		t.Fatal("plain HTTP served beside TLS")
	}
	newCA := writePair()
	if err := b.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if code, err := get("https", newCA); err != nil || code != 200 {
		t.Fatalf("after the reload, trusting the new CA: %d, %v", code, err)
	}
	if _, err := get("https", oldCA); err == nil {
		t.Fatal("after the reload, the old certificate is still served")
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS of a broken pair returned nil")
	}
	if code, err := get("https", newCA); err != nil || code != 200 {
		t.Fatalf("after a failed reload: %d, %v", code, err)
	}
}
