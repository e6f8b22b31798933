package hubd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// waitTimeout bounds every wait of these tests; nothing sleeps.
const waitTimeout = 20 * time.Second

// testHub is a hub serving on a real loopback listener.
type testHub struct {
	t    testing.TB
	srv  *hubd.Server
	reg  *prometheus.Registry
	addr string
	stop context.CancelFunc
	done chan error
}

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Output: t.Output(), Level: hclog.Info})
}

// startHub starts a hub with allow_anonymous on 127.0.0.1; mod may change
// the config first. The hub stops (drains) at the end of the test.
func startHub(t testing.TB, mod func(c *hubd.Config)) *testHub {
	t.Helper()
	return startHubWith(t, mod, nil)
}

func startHubWith(t testing.TB, mod func(c *hubd.Config), opts *hubd.Options) *testHub {
	t.Helper()
	cfg := &hubd.Config{HubID: "hub-t", Region: "test", AllowAnonymous: true, Limits: &hubd.LimitsConfig{}}
	if mod != nil {
		mod(cfg)
	}
	reg := prometheus.NewRegistry()
	o := &hubd.Options{}
	if opts != nil {
		*o = *opts
	}
	o.Logger, o.Registerer = testLogger(t), reg
	srv, err := hubd.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHub{t: t, srv: srv, reg: reg, addr: ln.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(h.close)
	return h
}

// close stops the hub and waits for Serve to return.
func (h *testHub) close() {
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
		h.done <- nil
	case <-time.After(waitTimeout):
		h.t.Errorf("hub did not stop")
	}
}

func (h *testHub) url(path string) string { return "ws://" + h.addr + path }

// metric returns the value of a counter or gauge (with labels "k=v,...").
func (h *testHub) metric(name, labels string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, kv := range strings.Split(labels, ",") {
				if kv == "" {
					continue
				}
				k, v, _ := strings.Cut(kv, "=")
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	h.t.Fatalf("no metric %s{%s}", name, labels)
	return 0
}

// waitMetric waits until metric name{labels} equals want.
func (h *testHub) waitMetric(name, labels string, want float64) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for h.metric(name, labels) != want {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s{%s} = %v, want %v", name, labels, h.metric(name, labels), want)
		}
		time.Sleep(5 * time.Millisecond) // polling a metric: there is no event to wait on
	}
}

// testAgent is an agent-link client.
type testAgent struct {
	t       testing.TB
	c       *websocket.Conn
	device  string
	spoolID string
	welcome *frame.Welcome
	seq     uint64
}

func dialAgent(t testing.TB, h *testHub) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, h.url("/v1/agent"), &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolAgent}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// connectAgent dials and says HELLO for device with a fresh spool id.
func connectAgent(t testing.TB, h *testHub, device string) *testAgent {
	t.Helper()
	return connectAgentSpool(t, h, device, "spool-"+device, 1)
}

func connectAgentSpool(t testing.TB, h *testHub, device, spoolID string, firstSeq uint64) *testAgent {
	t.Helper()
	a := &testAgent{t: t, c: dialAgent(t, h), device: device, spoolID: spoolID}
	a.send(&frame.Hello{
		DeviceID: device, AgentVersion: "test", SpoolID: spoolID, FirstSeq: firstSeq,
		Labels: map[string]string{"site": "lab"},
		Sensors: []frame.SensorInfo{
			{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 100, Resolution: 0.01},
			{ID: "rh", Kind: "humidity", Unit: "%", PeriodMS: 100, Resolution: 0.1},
		},
	})
	w, ok := a.read().(*frame.Welcome)
	if !ok {
		t.Fatalf("want WELCOME")
	}
	a.welcome = w
	a.seq = w.AckedSeq
	return a
}

func (a *testAgent) send(ms ...frame.Message) {
	a.t.Helper()
	var b []byte
	for _, m := range ms {
		var err error
		if b, err = frame.AppendAgent(b, m); err != nil {
			a.t.Fatal(err)
		}
	}
	a.sendRaw(b)
}

func (a *testAgent) sendRaw(b []byte) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		a.t.Fatal(err)
	}
}

// read returns the next agent-link message.
func (a *testAgent) read() frame.Message {
	a.t.Helper()
	m, err := a.tryRead()
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

func (a *testAgent) tryRead() (frame.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, b, err := a.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := frame.DecodeAgent(b, nil)
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("want 1 message, got %d", len(ms))
	}
	return ms[0], nil
}

// testFrame is frame seq of device with realistic readings.
func testFrame(seq uint64) *frame.Frame {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).Add(time.Duration(seq) * 100 * time.Millisecond).UnixNano()
	return &frame.Frame{Seq: seq, T0: t0, Samples: []frame.Sample{
		{Sensor: "t", DT: 0, Value: frame.Float(20.87 + float64(seq%10)/100)},
		{Sensor: "rh", DT: 50, Value: frame.Float(41.3)},
	}}
}

// publish sends n frames (one WebSocket message each) and waits for the ACK of each.
func (a *testAgent) publish(n int) {
	a.t.Helper()
	for range n {
		a.seq++
		a.send(testFrame(a.seq))
		a.waitAck(a.seq)
	}
}

// publishBatch sends n frames in one message (a CBOR sequence) and waits for the ACK.
func (a *testAgent) publishBatch(n int) {
	a.t.Helper()
	ms := make([]frame.Message, n)
	for i := range ms {
		a.seq++
		ms[i] = testFrame(a.seq)
	}
	a.send(ms...)
	a.waitAck(a.seq)
}

func (a *testAgent) waitAck(seq uint64) {
	a.t.Helper()
	for {
		switch m := a.read().(type) {
		case *frame.Ack:
			if m.Seq >= seq {
				return
			}
		case *frame.Command:
			a.t.Fatalf("unexpected COMMAND %+v", m)
		default:
			a.t.Fatalf("want ACK, got %T %+v", m, m)
		}
	}
}

// testDash is a dashboard-link client.
type testDash struct {
	t     testing.TB
	c     *websocket.Conn
	proto frame.Proto
	id    uint64
	queue []frame.ServerMessage
}

func dialDash(t testing.TB, h *testHub, p frame.Proto) *testDash {
	t.Helper()
	return dialDashWith(t, h, p, nil)
}

// dialDashSmallBuffer dials with a small socket receive buffer, so that a
// client that stops reading backs the hub up soon.
func dialDashSmallBuffer(t testing.TB, h *testHub, p frame.Proto) *testDash {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	return dialDashWith(t, h, p, &http.Client{Transport: &http.Transport{DialContext: d.DialContext}})
}

func dialDashWith(t testing.TB, h *testHub, p frame.Proto, hc *http.Client) *testDash {
	t.Helper()
	sp := frame.SubprotocolJSON
	if p == frame.ProtoCBOR {
		sp = frame.SubprotocolCBOR
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, h.url("/v1/ws"), &websocket.DialOptions{Subprotocols: []string{sp}, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &testDash{t: t, c: c, proto: p}
}

// request sends m with the next id and returns that id.
func (d *testDash) request(m frame.ClientMessage) uint64 {
	d.t.Helper()
	d.id++
	m.ID, m.HasID = d.id, true
	b, err := frame.AppendClient(nil, &m, d.proto)
	if err != nil {
		d.t.Fatal(err)
	}
	d.writeRaw(b)
	return d.id
}

func (d *testDash) writeRaw(b []byte) {
	d.t.Helper()
	typ := websocket.MessageText
	if d.proto == frame.ProtoCBOR {
		typ = websocket.MessageBinary
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := d.c.Write(ctx, typ, b); err != nil {
		d.t.Fatal(err)
	}
}

// next returns the next server message.
func (d *testDash) next() frame.ServerMessage {
	d.t.Helper()
	m, err := d.tryNext()
	if err != nil {
		d.t.Fatal(err)
	}
	return m
}

func (d *testDash) tryNext() (frame.ServerMessage, error) {
	for len(d.queue) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		_, b, err := d.c.Read(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		ms, err := frame.DecodeServer(b, d.proto, nil)
		if err != nil {
			return nil, err
		}
		d.queue = ms
	}
	m := d.queue[0]
	d.queue = d.queue[1:]
	return m, nil
}

// sub subscribes and returns the ok reply.
func (d *testDash) sub(m frame.ClientMessage) *frame.OK {
	d.t.Helper()
	m.Op = frame.OpSub
	id := d.request(m)
	ok, isOK := d.next().(*frame.OK)
	if !isOK || ok.ID != id {
		d.t.Fatalf("sub %s: want ok with id %d, got %+v", m.Ch, id, ok)
	}
	return ok
}

// frames reads n frames, failing on anything else.
func (d *testDash) frames(n int) []*frame.DashFrame {
	d.t.Helper()
	out := make([]*frame.DashFrame, 0, n)
	for len(out) < n {
		switch m := d.next().(type) {
		case *frame.DashFrame:
			out = append(out, m)
		default:
			d.t.Fatalf("after %d frames: want a frame, got %T %+v", len(out), m, m)
		}
	}
	return out
}

// closeStatus reads until the connection ends and returns its close status.
func (d *testDash) closeStatus() (websocket.StatusCode, string) {
	d.t.Helper()
	for {
		_, err := d.tryNext()
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

// checkContiguous asserts offsets from first on, each seq = off (one agent
// from the start of the channel) unless seqOff is false.
func checkContiguous(t testing.TB, fs []*frame.DashFrame, first uint64) {
	t.Helper()
	for i, f := range fs {
		if want := first + uint64(i); f.Off != want {
			t.Fatalf("frame %d: off %d, want %d", i, f.Off, want)
		}
	}
}

// httpGet returns the status and body of a GET.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}
