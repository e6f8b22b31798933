package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// waitTimeout bounds every wait; nothing in these tests sleeps to hope.
const waitTimeout = 30 * time.Second

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger(t testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: t.Output(), Level: hclog.Warn})
}

// hub is an in-process edgeplane-hubd on a real loopback listener.
type hub struct {
	t      testing.TB
	addr   string
	srv    *hubd.Server
	cancel context.CancelFunc
	done   chan error
}

// startHub starts a hub on addr ("127.0.0.1:0" for a free port) with the
// memory backplane and anonymous access; mod may change the config.
func startHub(t testing.TB, addr string, mod func(*hubd.Config)) *hub {
	t.Helper()
	return startHubOn(t, addr, mod, nil)
}

// startHubOn is startHub with a wrapper around the listener (nil = none).
func startHubOn(t testing.TB, addr string, mod func(*hubd.Config), wrap func(net.Listener) net.Listener) *hub {
	t.Helper()
	cfg := &hubd.Config{HubID: "hub-e2e", Region: "test", AllowAnonymous: true, Limits: &hubd.LimitsConfig{}}
	if mod != nil {
		mod(cfg)
	}
	srv, err := hubd.New(cfg, &hubd.Options{Logger: testLogger(t, "hubd"), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	deadline := time.Now().Add(waitTimeout)
	for {
		// The same port again after a restart: the old socket may linger briefly.
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{t: t, addr: ln.Addr().String(), srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(h.stop)
	return h
}

// stop drains the hub (dashboards get 1001) and waits for it; idempotent.
func (h *hub) stop() {
	h.cancel()
	err, ok := <-h.done
	if ok {
		close(h.done)
		if err != nil && !errors.Is(err, hubd.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			h.t.Errorf("hub: %v", err)
		}
	}
}

func (h *hub) agentURL() string { return "ws://" + h.addr + "/v1/agent" }
func (h *hub) wsURL() string    { return "ws://" + h.addr + "/v1/ws" }

// runAgent starts a real agent from HCL (device id demo, its hub URL set to
// h) and stops it at the end of the test.
func runAgent(t testing.TB, hubURL, hcl string) {
	t.Helper()
	runAgentURLs(t, hcl, hubURL)
}

// runAgentURLs is runAgent with a list of hub URLs (failover in order).
func runAgentURLs(t testing.TB, hcl string, hubURLs ...string) {
	t.Helper()
	cfg, err := agent.ParseConfig("agent.hcl", []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{Logger: testLogger(t, "agent"), HubURLs: hubURLs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	})
}

// fastAgent is an agent config with a 100 Hz sensor and 20 ms frames.
func fastAgent(device string) string {
	return fmt.Sprintf(`
device_id      = %q
flush_interval = "20ms"
hub {
  url           = "ws://127.0.0.1:1/v1/agent"
  reconnect_min = "50ms"
  reconnect_max = "200ms"
}
sensor "sim.sine" "t" {
  period     = "10ms"
  resolution = 0.01
}
sensor "sim.walk" "rh" {
  period     = "20ms"
  resolution = 0.1
}
`, device)
}

// dash is a dashboard client speaking the JSON or CBOR dashboard link.
type dash struct {
	t     testing.TB
	c     *websocket.Conn
	proto frame.Proto
	id    uint64
	queue []frame.ServerMessage
}

func dialDash(t testing.TB, url string, p frame.Proto) *dash {
	t.Helper()
	return dialDashWith(t, url, p, nil)
}

// dialDashWith dials through client (nil = the default one).
func dialDashWith(t testing.TB, url string, p frame.Proto, client *http.Client) *dash {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	sub := frame.SubprotocolJSON
	if p == frame.ProtoCBOR {
		sub = frame.SubprotocolCBOR
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{sub}, HTTPClient: client})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	d := &dash{t: t, c: c, proto: p}
	t.Cleanup(func() { c.CloseNow() })
	return d
}

func (d *dash) send(m frame.ClientMessage) uint64 {
	d.t.Helper()
	d.id++
	m.ID, m.HasID = d.id, true
	b, err := frame.AppendClient(nil, &m, d.proto)
	if err != nil {
		d.t.Fatal(err)
	}
	typ := websocket.MessageText
	if d.proto == frame.ProtoCBOR {
		typ = websocket.MessageBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := d.c.Write(ctx, typ, b); err != nil {
		d.t.Fatalf("write: %v", err)
	}
	return d.id
}

// next returns the next server message, or an error (the close) when the
// connection ends.
func (d *dash) next(ctx context.Context) (frame.ServerMessage, error) {
	for len(d.queue) == 0 {
		_, b, err := d.c.Read(ctx)
		if err != nil {
			return nil, err
		}
		ms, err := frame.DecodeServer(b, d.proto, nil)
		if err != nil {
			d.t.Fatalf("decode server message: %v", err)
		}
		d.queue = ms
	}
	m := d.queue[0]
	d.queue = d.queue[1:]
	return m, nil
}

func (d *dash) mustNext() frame.ServerMessage {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	m, err := d.next(ctx)
	if err != nil {
		d.t.Fatalf("read: %v", err)
	}
	return m
}

// sub subscribes and returns the ok reply (which comes before any frame).
func (d *dash) sub(m frame.ClientMessage) *frame.OK {
	d.t.Helper()
	m.Op = frame.OpSub
	id := d.send(m)
	for {
		switch r := d.mustNext().(type) {
		case *frame.OK:
			if r.ID == id {
				return r
			}
		case *frame.ErrorReply:
			d.t.Fatalf("sub %s: error %d %s", m.Ch, r.Code, r.Message)
		case *frame.DashFrame:
			if r.Ch == m.Ch {
				d.t.Fatalf("frame of %s before the ok of its sub", r.Ch)
			}
		}
	}
}

// frames reads until it has n frames of channel ch.
func (d *dash) frames(ch string, n int) []*frame.DashFrame {
	d.t.Helper()
	var out []*frame.DashFrame
	for len(out) < n {
		if f, ok := d.mustNext().(*frame.DashFrame); ok && f.Ch == ch {
			out = append(out, f)
		}
	}
	return out
}

// checkContiguous fails unless offsets and seqs both go up by one from the
// first frame on.
func checkContiguous(t testing.TB, fs []*frame.DashFrame) {
	t.Helper()
	for i := 1; i < len(fs); i++ {
		if fs[i].Off != fs[i-1].Off+1 {
			t.Fatalf("offset gap: %d then %d", fs[i-1].Off, fs[i].Off)
		}
		if fs[i].Seq != fs[i-1].Seq+1 {
			t.Fatalf("seq gap: %d then %d", fs[i-1].Seq, fs[i].Seq)
		}
	}
}

// metricAbove reports whether the sum of every series of a metric on a
// Prometheus text endpoint is above min.
func metricAbove(ctx context.Context, url, name string, min float64) bool {
	return metricSum(ctx, url, name) > min
}

func metricSum(ctx context.Context, url, name string) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// smallBufferClient dials with a 4 KiB socket receive buffer, so that a
// client that stops reading backs its hub up quickly.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// smallSendBuffers makes every accepted connection's socket send buffer 16 KiB,
// so that the kernel does not hold megabytes for a client that stopped
// reading: what is under test is the hub's own bound.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}
