package hubd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/auth"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestOrigin: a browser page of another origin cannot open a dashboard
// connection (403) unless allowed_origins names it; the hub's own origin
// and clients that send no Origin (not browsers) are let in.
func TestOrigin(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.AllowedOrigins = []string{"dash.example.com", "https://*.ops.example.com"} })
	cases := []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols},
		{"http://" + h.addr, http.StatusSwitchingProtocols},
		{"https://dash.example.com", http.StatusSwitchingProtocols},
		{"https://a.ops.example.com", http.StatusSwitchingProtocols},
		{"http://a.ops.example.com", http.StatusForbidden}, // scheme pattern
		{"https://evil.example", http.StatusForbidden},
		{"https://dash.example.com.evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			_, st := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, "", hdr)
			if st != tc.want {
				t.Fatalf("Origin %q: %d, want %d", tc.origin, st, tc.want)
			}
		})
	}
	if got := h.metric("edgeplane_hub_protocol_errors_total", "link=dashboard,code=403"); got != 4 {
		t.Fatalf("403s counted %v", got)
	}
}

// TestOriginDefault: without allowed_origins only the hub's own origin.
func TestOriginDefault(t *testing.T) {
	h := startHub(t, nil)
	if _, st := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, "", http.Header{"Origin": {"https://evil.example"}}); st != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: %d, want 403", st)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		h := startHub(t, func(c *hubd.Config) { c.Limits.ConnectionsPerIP = 2 })
		hubd.LimitLoopback(h.srv)
		first := dialDash(t, h, frame.ProtoJSON)
		dialDash(t, h, frame.ProtoJSON)
		if _, st := dialTok(t, h, "/v1/agent", frame.SubprotocolAgent, "", nil); st != http.StatusTooManyRequests {
			t.Fatalf("third connection: %d, want 429", st)
		}
		first.c.Close(websocket.StatusNormalClosure, "")
		h.waitMetric("edgeplane_hub_sessions", "proto=json", 1)
		// The slot is free once the hub saw the close.
		deadline := time.Now().Add(waitTimeout)
		for {
			c, st := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, "", nil)
			if c != nil {
				break
			}
			if st != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("after a close: %d", st)
			}
			time.Sleep(5 * time.Millisecond) // the handler returns just after the session gauge moved
		}
		if got := h.metric("edgeplane_hub_limit_hits_total", "limit=connections_per_ip"); got < 1 {
			t.Fatalf("hits %v", got)
		}
	})
	t.Run("loopback exempt by default", func(t *testing.T) {
		h := startHub(t, func(c *hubd.Config) { c.Limits.ConnectionsPerIP = 1 })
		dialDash(t, h, frame.ProtoJSON)
		dialDash(t, h, frame.ProtoJSON)
	})
	t.Run("total", func(t *testing.T) {
		h := startHub(t, func(c *hubd.Config) { c.Limits.Connections = 2 })
		dialDash(t, h, frame.ProtoJSON)
		connectAgent(t, h, "pi-1")
		if _, st := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, "", nil); st != http.StatusServiceUnavailable {
			t.Fatalf("third connection: %d, want 503", st)
		}
		if got := h.metric("edgeplane_hub_limit_hits_total", "limit=connections"); got != 1 {
			t.Fatalf("hits %v", got)
		}
	})
}

// TestSlowloris: many connections that send part of an upgrade request and
// stop do not keep the hub from serving (a healthy agent and dashboard,
// streaming throughout, see no gap and no frame over the latency bound),
// and are closed after handshake_timeout.
func TestSlowloris(t *testing.T) {
	h := startTokenHub(t, func(c *hubd.Config) { c.Limits.HandshakeTimeout = "500ms" })
	hc := newHealthy(t, h)
	const n = 300
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ", h.addr)
		conns = append(conns, c)
	}
	hc.check()
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		if _, err := bufio.NewReader(c).ReadString(0); err == nil || os.IsTimeout(err) {
			t.Fatalf("half-open connection %d: %v, want it closed by the hub", i, err)
		}
	}
	hc.noGap()
}

// TestIdleTimeout: a peer that stops answering pings is closed with 1008;
// one that reads (and so answers) stays.
func TestIdleTimeout(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.Limits.IdleTimeout = "400ms" })
	silent := dialDash(t, h, frame.ProtoJSON) // never reads: its pongs never go out
	live := dialDash(t, h, frame.ProtoJSON)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs := make(chan []byte, 16)
	go func() {
		for {
			_, b, err := live.c.Read(ctx)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- b
		}
	}()
	h.waitMetric("edgeplane_hub_limit_hits_total", "limit=idle_timeout", 1)
	if got := closeOf(t, silent.c); got != websocket.StatusPolicyViolation {
		t.Fatalf("silent peer closed with %v, want 1008", got)
	}
	b, _ := frame.AppendClient(nil, &frame.ClientMessage{Op: frame.OpPing, ID: 9, HasID: true}, frame.ProtoJSON)
	if err := live.c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	select {
	case b, ok := <-msgs:
		if !ok || !strings.Contains(string(b), `"pong"`) {
			t.Fatalf("live peer: %q (open %v)", b, ok)
		}
	case <-time.After(waitTimeout):
		t.Fatal("live peer got no pong")
	}
}

// TestTLS: the hub serves TLS from files; an agent that trusts the hub's
// CA (ca_file) connects with its device token and its frames reach a
// dashboard over wss; ReloadTLS swaps the certificate, and a bad pair keeps
// the old one.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := testenv.WriteCertPair(t, certFile, keyFile)
	// The agent trusts a copy: the reload below overwrites certFile.
	ca1, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca1, 0o600); err != nil {
		t.Fatal(err)
	}
	h := startTokenHub(t, func(c *hubd.Config) { c.TLS = &hubd.TLSConfig{CertFile: certFile, KeyFile: keyFile} })
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	wss := "wss://" + h.addr
	if _, _, err := websocket.Dial(ctx, "ws://"+h.addr+"/v1/ws", &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}}); err == nil {
		t.Fatal("plain ws to a TLS hub succeeded")
	}
	dc, _, err := websocket.Dial(ctx, wss+"/v1/ws", &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{frame.SubprotocolJSON}})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.CloseNow()
	d := &testDash{t: t, c: dc, proto: frame.ProtoJSON}
	id := d.request(frame.ClientMessage{Op: frame.OpAuth, Token: mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil)})
	if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id {
		t.Fatalf("auth %+v", ok)
	}
	d.sub(frame.ClientMessage{Ch: "dev/pi-tls"})

	agentHCL := `
device_id = "DEVICE"
hub {
  url = "` + wss + `/v1/agent"
  ca_file = "` + caFile + `"
  token = "TOKEN"
  reconnect_min = "10ms"
  reconnect_max = "50ms"
}
sensor "sim.sine" "t" { period = "10ms" }
`
	cfg, err := agent.ParseConfig("tls.hcl", []byte(strings.ReplaceAll(strings.ReplaceAll(agentHCL, "DEVICE", "pi-tls"), "TOKEN",
		mintTok(t, testKey, "pi-tls", auth.RoleDevice, time.Hour, nil, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(cfg, &agent.Options{Logger: testLogger(t), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	adone := make(chan error, 1)
	go func() { adone <- ag.Run(actx) }()
	defer func() {
		acancel()
		<-adone
	}()
	if f := d.frames(1)[0]; f.Device != "pi-tls" {
		t.Fatalf("frame %+v", f)
	}

	serial := func() string {
		c, err := tls.Dial("tcp", h.addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	testenv.WriteCertPair(t, certFile, keyFile)
	if err := h.srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	after := serial()
	if after == before {
		t.Fatal("ReloadTLS did not swap the certificate")
	}
	// An agent that trusts only the first CA refuses the new certificate.
	cfg2, err := agent.ParseConfig("tls2.hcl", []byte(strings.ReplaceAll(strings.ReplaceAll(agentHCL, "DEVICE", "pi-tls2"), "TOKEN",
		mintTok(t, testKey, "pi-tls2", auth.RoleDevice, time.Hour, nil, nil))))
	if err != nil {
		t.Fatal(err)
	}
	reg2 := prometheus.NewRegistry()
	ag2, err := agent.New(cfg2, &agent.Options{Logger: testLogger(t), Registerer: reg2})
	if err != nil {
		t.Fatal(err)
	}
	a2done := make(chan error, 1)
	a2ctx, a2cancel := context.WithCancel(context.Background())
	go func() { a2done <- ag2.Run(a2ctx) }()
	deadline := time.Now().Add(waitTimeout)
	for dialErrors(t, reg2) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not refuse the hub's new certificate")
		}
		time.Sleep(5 * time.Millisecond) // polling a metric: there is no event to wait on
	}
	a2cancel()
	<-a2done
	if got := h.metric("edgeplane_hub_agents", ""); got != 1 {
		t.Fatalf("agents on the hub: %v, want only the first (its connection outlives the reload)", got)
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS of a bad pair succeeded")
	}
	if got := serial(); got != after {
		t.Fatal("a bad pair replaced the certificate")
	}
	if ok, failed := h.metric("edgeplane_hub_tls_reloads_total", "result=ok"), h.metric("edgeplane_hub_tls_reloads_total", "result=failed"); ok != 1 || failed != 1 {
		t.Fatalf("reloads ok %v failed %v", ok, failed)
	}
}

// dialErrors is an agent's edgeplane_uplink_dials_total{result="error"}.
func dialErrors(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "edgeplane_uplink_dials_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "error" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
