package hubd_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/auth"
	"github.com/edgeplane/edgeplane/internal/frame"
)

var (
	testKey  = auth.Key{ID: "k1", HMACSecret: []byte("0123456789abcdef0123456789abcdef")}
	otherKey = auth.Key{ID: "k1", HMACSecret: []byte("fedcba9876543210fedcba9876543210")}
	wrongKid = auth.Key{ID: "k0", HMACSecret: testKey.HMACSecret}
)

// mintTok signs a token for sub and role, valid for an hour (or expired
// an hour ago when ttl < 0).
func mintTok(t testing.TB, k auth.Key, sub string, role auth.Role, ttl time.Duration, ch, cmd []string) string {
	t.Helper()
	tok, err := auth.Mint(k, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl))},
		Role:             role, Channels: ch, Commands: cmd,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// startTokenHub starts a hub that knows testKey and lets nobody in anonymously.
func startTokenHub(t testing.TB, mod func(c *hubd.Config)) *testHub {
	t.Helper()
	return startHub(t, func(c *hubd.Config) {
		c.AllowAnonymous = false
		c.Auth = &hubd.AuthConfig{Keys: []auth.KeyConfig{{ID: testKey.ID, HMACSecret: string(testKey.HMACSecret)}}}
		if mod != nil {
			mod(c)
		}
	})
}

// dialTok opens path with a bearer token ("" for none); it returns the
// HTTP status when the upgrade is refused.
func dialTok(t testing.TB, h *testHub, path, proto, tok string, hdr http.Header) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if hdr == nil {
		hdr = http.Header{}
	}
	if tok != "" {
		hdr.Set("Authorization", "Bearer "+tok)
	}
	c, resp, err := websocket.Dial(ctx, h.url(path), &websocket.DialOptions{Subprotocols: []string{proto}, HTTPHeader: hdr})
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		return nil, resp.StatusCode
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

// tokenAgent connects an agent with tok and says HELLO for device.
func tokenAgent(t testing.TB, h *testHub, tok, device string) *testAgent {
	t.Helper()
	c, st := dialTok(t, h, "/v1/agent", frame.SubprotocolAgent, tok, nil)
	if c == nil {
		t.Fatalf("agent upgrade refused with %d", st)
	}
	a := &testAgent{t: t, c: c, device: device, spoolID: "spool-" + device}
	a.send(&frame.Hello{DeviceID: device, SpoolID: a.spoolID, FirstSeq: 1,
		Sensors: []frame.SensorInfo{{ID: "t", Kind: "temperature", Unit: "°C", Resolution: 0.01}, {ID: "rh", Resolution: 0.1}}})
	w, ok := a.read().(*frame.Welcome)
	if !ok {
		t.Fatal("want WELCOME")
	}
	a.seq = w.AckedSeq
	return a
}

// tokenDash opens a dashboard and authenticates with the auth message.
func tokenDash(t testing.TB, h *testHub, p frame.Proto, tok string) *testDash {
	t.Helper()
	d := dialDash(t, h, p)
	id := d.request(frame.ClientMessage{Op: frame.OpAuth, Token: tok})
	if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id {
		t.Fatalf("auth: %+v", ok)
	}
	return d
}

// healthyPeriod is how often the healthy agent publishes during a hostile
// test; healthyLatencyBound is the documented bound (docs/SECURITY.md,
// "Limits") on the time from its send to the healthy dashboard's receipt.
const (
	healthyPeriod       = 20 * time.Millisecond
	healthyLatencyBound = time.Second
)

// healthy is an agent and a dashboard that stay connected through a test
// of hostile peers. In the background the agent publishes a frame every
// healthyPeriod and the dashboard receives them, timing each. check waits
// until a frame sent after it arrived; noGap stops both and requires every
// frame, contiguous offsets and each frame within healthyLatencyBound.
type healthy struct {
	t      *testing.T
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards the following
	sent     map[uint64]time.Time
	lastSent uint64
	got      []*frame.DashFrame
	lat      []time.Duration
	err      error // the first failure of a goroutine
	progress chan struct{}
}

func newHealthy(t *testing.T, h *testHub) *healthy {
	a := tokenAgent(t, h, mintTok(t, testKey, "good-1", auth.RoleDevice, time.Hour, nil, nil), "good-1")
	d := tokenDash(t, h, frame.ProtoCBOR, mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/good-*"}, nil))
	d.sub(frame.ClientMessage{Ch: "dev/good-1"})
	ctx, cancel := context.WithCancel(context.Background())
	hc := &healthy{t: t, cancel: cancel, sent: map[uint64]time.Time{}, progress: make(chan struct{}, 1)}
	hc.wg.Go(func() { hc.publish(ctx, a) })
	hc.wg.Go(func() { hc.discardAcks(ctx, a) })
	hc.wg.Go(func() { hc.receive(ctx, d) })
	t.Cleanup(func() { cancel(); hc.wg.Wait() })
	return hc
}

func (hc *healthy) fail(err error) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.err == nil {
		hc.err = err
	}
}

func (hc *healthy) publish(ctx context.Context, a *testAgent) {
	tick := time.NewTicker(healthyPeriod)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b, err := frame.AppendAgent(nil, testFrame(seq))
		if err != nil {
			hc.fail(err)
			return
		}
		hc.mu.Lock()
		hc.sent[seq], hc.lastSent = time.Now(), seq
		hc.mu.Unlock()
		if err := a.c.Write(ctx, websocket.MessageBinary, b); err != nil {
			if ctx.Err() == nil {
				hc.fail(fmt.Errorf("healthy agent: send seq %d: %w", seq, err))
			}
			return
		}
	}
}

// discardAcks reads the healthy agent's link (ACKs, pings) until the end.
func (hc *healthy) discardAcks(ctx context.Context, a *testAgent) {
	for {
		if _, _, err := a.c.Read(ctx); err != nil {
			if ctx.Err() == nil {
				hc.fail(fmt.Errorf("healthy agent: read: %w", err))
			}
			return
		}
	}
}

func (hc *healthy) receive(ctx context.Context, d *testDash) {
	for {
		_, b, err := d.c.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				hc.fail(fmt.Errorf("healthy dashboard: read: %w", err))
			}
			return
		}
		now := time.Now()
		ms, err := frame.DecodeServer(b, d.proto, nil)
		if err != nil {
			hc.fail(fmt.Errorf("healthy dashboard: %w", err))
			return
		}
		for _, m := range ms {
			f, ok := m.(*frame.DashFrame)
			if !ok {
				continue
			}
			hc.mu.Lock()
			hc.got = append(hc.got, f)
			hc.lat = append(hc.lat, now.Sub(hc.sent[f.Seq]))
			hc.mu.Unlock()
			select {
			case hc.progress <- struct{}{}:
			default:
			}
		}
	}
}

// check waits until a frame the agent sends after the call reached the
// dashboard.
func (hc *healthy) check() {
	hc.t.Helper()
	hc.mu.Lock()
	want := hc.lastSent + 1
	hc.mu.Unlock()
	deadline := time.After(waitTimeout)
	for {
		hc.mu.Lock()
		n := len(hc.got)
		var last uint64
		if n > 0 {
			last = hc.got[n-1].Seq
		}
		err := hc.err
		hc.mu.Unlock()
		if err != nil {
			hc.t.Fatal(err)
		}
		if last >= want {
			return
		}
		select {
		case <-hc.progress:
		case <-deadline:
			hc.t.Fatalf("the healthy dashboard got no frame after seq %d within %v (last %d)", want-1, waitTimeout, last)
		}
	}
}

// noGap stops the healthy clients and checks what the dashboard got: seqs
// and offsets 1..n without a gap, each within healthyLatencyBound.
func (hc *healthy) noGap() {
	hc.t.Helper()
	hc.check()
	hc.cancel()
	hc.wg.Wait()
	if hc.err != nil {
		hc.t.Fatal(hc.err)
	}
	checkContiguous(hc.t, hc.got, 1)
	for i, f := range hc.got {
		if f.Seq != uint64(i+1) {
			hc.t.Fatalf("healthy frame %d: seq %d, want %d", i, f.Seq, i+1)
		}
	}
	lat := slices.Clone(hc.lat)
	slices.Sort(lat)
	worst := lat[len(lat)-1]
	hc.t.Logf("healthy clients: %d frames, publish→receive p50 %v, p99 %v, max %v", len(lat),
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), worst.Round(time.Microsecond))
	if worst > healthyLatencyBound {
		for i, l := range hc.lat {
			if l > healthyLatencyBound {
				hc.t.Fatalf("healthy frame seq %d took %v from send to receipt, over the bound of %v", hc.got[i].Seq, l, healthyLatencyBound)
			}
		}
	}
}

// closeOf reads until c ends and returns its close status, failing on a
// close without a reason.
func closeOf(t testing.TB, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		if ce.Reason == "" {
			t.Fatalf("close %v without a reason", ce.Code)
		}
		return ce.Code
	}
}

// TestAgentEndpointHostile: bad credentials and bad input on /v1/agent each
// get their documented answer (PROTOCOL.md, "Agent link", and
// docs/SECURITY.md), and a healthy agent and dashboard see no gap.
func TestAgentEndpointHostile(t *testing.T) {
	h := startTokenHub(t, func(c *hubd.Config) {
		c.Limits.AgentMessageBytes = "4KiB"
		c.Limits.SamplesPerFrame = 8
		c.Limits.AuthTimeout = "300ms"
	})
	hc := newHealthy(t, h)
	dev := func(sub string) string { return mintTok(t, testKey, sub, auth.RoleDevice, time.Hour, nil, nil) }
	frameOf := func(n int) []byte {
		f := &frame.Frame{Seq: 1, T0: 1}
		for i := range n {
			f.Samples = append(f.Samples, frame.Sample{Sensor: "t", DT: uint64(i), Value: frame.Float(1)})
		}
		return mustAgent(t, f)
	}
	cases := []struct {
		name   string
		tok    string
		device string // HELLO first when set
		msg    []byte
		http   int                  // refused upgrade: the status
		code   uint16               // ERROR code before the close; 0 = none
		status websocket.StatusCode // close status
	}{
		{name: "no token", http: 401},
		{name: "expired", tok: mintTok(t, testKey, "pi-7", auth.RoleDevice, -time.Hour, nil, nil), http: 401},
		{name: "wrong key", tok: mintTok(t, otherKey, "pi-7", auth.RoleDevice, time.Hour, nil, nil), http: 401},
		{name: "wrong kid", tok: mintTok(t, wrongKid, "pi-7", auth.RoleDevice, time.Hour, nil, nil), http: 401},
		{name: "garbage token", tok: "not-a-jwt", http: 401},
		{name: "dashboard token", tok: mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil), http: 403},
		{name: "admin token", tok: mintTok(t, testKey, "root", auth.RoleAdmin, time.Hour, nil, nil), http: 403},
		{name: "device token for another device", tok: dev("pi-7"), msg: mustAgent(t, &frame.Hello{DeviceID: "good-1", SpoolID: "s", FirstSeq: 1}), code: 403, status: websocket.StatusPolicyViolation},
		{name: "oversize", tok: dev("pi-7"), msg: make([]byte, 8<<10), code: 413, status: websocket.StatusMessageTooBig},
		{name: "garbage CBOR", tok: dev("pi-7"), msg: []byte{0xff, 0xfe, 0x1c, 0x00}, status: websocket.StatusInvalidFramePayloadData},
		{name: "CBOR of the wrong shape", tok: dev("pi-7"), msg: []byte{0x83, 0x01, 0x02, 0x03}, code: 400, status: websocket.StatusPolicyViolation},
		{name: "FRAME with text samples", tok: dev("pi-7"), device: "pi-7", msg: []byte{0xa4, 0x00, 0x03, 0x01, 0x01, 0x02, 0x01, 0x03, 0x61, 'x'}, code: 400, status: websocket.StatusPolicyViolation},
		{name: "too many samples", tok: dev("pi-7"), device: "pi-7", msg: frameOf(9), code: 429, status: websocket.StatusPolicyViolation},
		{name: "no HELLO within auth_timeout", tok: dev("pi-7"), status: websocket.StatusPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, st := dialTok(t, h, "/v1/agent", frame.SubprotocolAgent, tc.tok, nil)
			if tc.http != 0 {
				if c != nil || st != tc.http {
					t.Fatalf("upgrade: %d, want HTTP %d", st, tc.http)
				}
				hc.check()
				return
			}
			if c == nil {
				t.Fatalf("upgrade refused with %d", st)
			}
			a := &testAgent{t: t, c: c}
			if tc.device != "" {
				a.send(&frame.Hello{DeviceID: tc.device, SpoolID: "s", FirstSeq: 1})
				if _, ok := a.read().(*frame.Welcome); !ok {
					t.Fatal("want WELCOME")
				}
			}
			if tc.msg != nil {
				a.sendRaw(tc.msg)
			}
			if tc.code != 0 {
				m, err := a.tryRead()
				if e, ok := m.(*frame.Error); err != nil || !ok || e.Code != tc.code || e.Message == "" {
					t.Fatalf("want ERROR %d, got %T %+v (%v)", tc.code, m, m, err)
				}
			}
			if got := closeOf(t, c); got != tc.status {
				t.Fatalf("close %v, want %v", got, tc.status)
			}
			hc.check()
		})
	}
	if got := h.metric("edgeplane_hub_limit_hits_total", "limit=samples_per_frame"); got != 1 {
		t.Fatalf("samples_per_frame hits %v", got)
	}
	hc.noGap()
}

// TestFrameFlood: a device over frames_per_second is slowed down, not cut
// off: every frame is stored and acknowledged, the limit is counted, and
// the healthy clients see no gap.
func TestFrameFlood(t *testing.T) {
	h := startTokenHub(t, func(c *hubd.Config) {
		c.Limits.FramesPerSecond = 200
		c.Limits.FramesBurst = 20
	})
	hc := newHealthy(t, h)
	flood := tokenAgent(t, h, mintTok(t, testKey, "flood", auth.RoleDevice, time.Hour, nil, nil), "flood")
	for range 5 {
		flood.publishBatch(40) // 200 frames: 180 over the burst, about a second at the rate
		hc.check()
	}
	if got := h.metric("edgeplane_hub_limit_hits_total", "limit=frames_per_second"); got < 1 {
		t.Fatalf("frames_per_second hits %v", got)
	}
	hc.noGap()
	// Every flood frame was ACKed (publishBatch waits for it), hence stored,
	// beside the healthy agent's.
	if got, want := h.metric("edgeplane_hub_frames_in_total", ""), float64(200+len(hc.got)); got < want {
		t.Fatalf("frames stored %v, want at least %v", got, want)
	}
}

// TestDashboardEndpointHostile: bad credentials, bad scopes and bad input
// on /v1/ws each get their documented answer, and a healthy agent and
// dashboard see no gap.
func TestDashboardEndpointHostile(t *testing.T) {
	h := startTokenHub(t, func(c *hubd.Config) {
		c.Limits.AuthTimeout = "300ms"
		c.Limits.ClientMessageBytes = "4KiB"
	})
	hc := newHealthy(t, h)
	dash := mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/berlin-*"}, []string{"berlin-relay-*"})
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)

	type step struct {
		msg  string // one client message (JSON, or hex CBOR with the cbor proto)
		code int    // error reply expected, the connection stays; 0 = a close
	}
	cases := []struct {
		name   string
		proto  frame.Proto
		tok    string // sent in the auth message first when set
		bearer string // on the upgrade
		http   int    // refused upgrade: the status
		steps  []step
		status websocket.StatusCode // close expected after the steps; 0 = stays open
	}{
		{name: "no auth within the deadline", status: websocket.StatusPolicyViolation},
		{name: "other message first", steps: []step{{msg: `{"op":"sub","id":1,"ch":"dev/berlin-1"}`}}, status: websocket.StatusPolicyViolation},
		{name: "no token", steps: []step{{msg: `{"op":"auth","id":0,"token":""}`}}, status: websocket.StatusPolicyViolation},
		{name: "expired", steps: []step{{msg: `{"op":"auth","id":0,"token":"` + mintTok(t, testKey, "ops", auth.RoleDashboard, -time.Hour, []string{"dev/*"}, nil) + `"}`}}, status: websocket.StatusPolicyViolation},
		{name: "wrong key", steps: []step{{msg: `{"op":"auth","id":0,"token":"` + mintTok(t, otherKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil) + `"}`}}, status: websocket.StatusPolicyViolation},
		{name: "wrong kid", steps: []step{{msg: `{"op":"auth","id":0,"token":"` + mintTok(t, wrongKid, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil) + `"}`}}, status: websocket.StatusPolicyViolation},
		{name: "device token", steps: []step{{msg: `{"op":"auth","id":0,"token":"` + mintTok(t, testKey, "good-1", auth.RoleDevice, time.Hour, nil, nil) + `"}`}}, status: websocket.StatusPolicyViolation},
		{name: "bad bearer on the upgrade", bearer: mintTok(t, otherKey, "ops", auth.RoleDashboard, time.Hour, nil, nil), http: 401},
		{name: "device bearer on the upgrade", bearer: mintTok(t, testKey, "good-1", auth.RoleDevice, time.Hour, nil, nil), http: 403},
		{name: "channel outside ch", tok: dash, steps: []step{{msg: `{"op":"sub","id":1,"ch":"dev/good-1"}`, code: 403}, {msg: `{"op":"sub","id":2,"ch":"presence"}`, code: 403}}},
		{name: "command outside cmd", tok: dash, steps: []step{{msg: `{"op":"cmd","id":1,"device":"berlin-1","name":"gpio.write"}`, code: 403}, {msg: `{"op":"cmd","id":2,"device":"good-1","name":"gpio.write"}`, code: 403}}},
		{name: "command to a device inside cmd that is offline", tok: dash, steps: []step{{msg: `{"op":"cmd","id":1,"device":"berlin-relay-1","name":"gpio.write"}`, code: 404}}},
		{name: "oversize", tok: dash, steps: []step{{msg: `{"op":"ping","id":1,"pad":"` + strings.Repeat("x", 8<<10) + `"}`}}, status: websocket.StatusMessageTooBig},
		{name: "oversize before auth", steps: []step{{msg: `{"op":"auth","id":0,"token":"` + strings.Repeat("x", 8<<10) + `"}`}}, status: websocket.StatusMessageTooBig},
		{name: "garbage JSON", tok: dash, steps: []step{{msg: `{"op":"ping",` + "\x00\xff"}}, status: websocket.StatusInvalidFramePayloadData},
		{name: "JSON huge number", tok: dash, steps: []step{{msg: `{"op":"sub","id":1e400,"ch":"dev/berlin-1"}`, code: 400}, {msg: `{"op":"sub","id":2,"ch":"dev/berlin-1","history":123456789012345678901234567890}`, code: 400}}},
		{name: "JSON deep nesting", tok: dash, steps: []step{{msg: `{"op":"cmd","id":1,"device":"berlin-relay-1","name":"x","args":{"a":` + deep[:1500] + deep[len(deep)-1500:] + `}}`}}, status: websocket.StatusMessageTooBig}, // PROTOCOL.md, "Limits": nesting over 16 is 413 / 1009
		{name: "garbage CBOR", proto: frame.ProtoCBOR, tok: dash, steps: []step{{msg: "fffe1c00"}}, status: websocket.StatusInvalidFramePayloadData},
		{name: "CBOR of the wrong shape", proto: frame.ProtoCBOR, tok: dash, steps: []step{{msg: "83010203", code: 400}, {msg: "a2626f706470696e676269646178", code: 400}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := frame.SubprotocolJSON
			if tc.proto == frame.ProtoCBOR {
				sp = frame.SubprotocolCBOR
			}
			c, st := dialTok(t, h, "/v1/ws", sp, tc.bearer, nil)
			if tc.http != 0 {
				if c != nil || st != tc.http {
					t.Fatalf("upgrade: %d, want HTTP %d", st, tc.http)
				}
				hc.check()
				return
			}
			d := &testDash{t: t, c: c, proto: tc.proto}
			if tc.tok != "" {
				id := d.request(frame.ClientMessage{Op: frame.OpAuth, Token: tc.tok})
				if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id {
					t.Fatalf("auth: %+v", ok)
				}
			}
			for _, s := range tc.steps {
				b := []byte(s.msg)
				if tc.proto == frame.ProtoCBOR {
					b = mustHex(t, s.msg)
				}
				d.writeRaw(b)
				if s.code == 0 {
					continue
				}
				if e, ok := d.next().(*frame.ErrorReply); !ok || e.Code != s.code || e.Message == "" {
					t.Fatalf("%s: want error %d, got %T %+v", s.msg[:min(len(s.msg), 60)], s.code, e, e)
				}
			}
			if tc.status != 0 {
				if got := closeOf(t, c); got != tc.status {
					t.Fatalf("close %v, want %v", got, tc.status)
				}
			} else {
				id := d.request(frame.ClientMessage{Op: frame.OpPing}) // still open and served
				if p, ok := d.next().(*frame.Pong); !ok || p.ID != id {
					t.Fatalf("after the errors: %T %+v", p, p)
				}
			}
			hc.check()
		})
	}
	if got := h.metric("edgeplane_hub_limit_hits_total", "limit=auth_timeout"); got != 1 {
		t.Fatalf("auth_timeout hits %v", got)
	}
	hc.noGap()
}

// TestTenThousandSubscriptions: subscriptions over the limit are refused
// with 429 one by one; the connection stays and keeps its subscriptions.
func TestTenThousandSubscriptions(t *testing.T) {
	h := startTokenHub(t, func(c *hubd.Config) { c.Limits.Subscriptions = 1000 })
	hc := newHealthy(t, h)
	d := tokenDash(t, h, frame.ProtoJSON, mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil))
	const n = 10000
	errc := make(chan error, 1)
	go func() { // write while the replies are read, so that neither side waits on the other
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		for i := range n {
			m := frame.ClientMessage{Op: frame.OpSub, ID: uint64(100 + i), HasID: true, Ch: "dev/d-" + strconv.Itoa(i)}
			b, _ := frame.AppendClient(nil, &m, frame.ProtoJSON)
			if err := d.c.Write(ctx, websocket.MessageText, b); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	oks, limited := 0, 0
	for range n {
		switch m := d.next().(type) {
		case *frame.OK:
			oks++
		case *frame.ErrorReply:
			if m.Code != 429 {
				t.Fatalf("error %+v", m)
			}
			limited++
		default:
			t.Fatalf("reply %T %+v", m, m)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if oks != 1000 || limited != n-1000 {
		t.Fatalf("%d ok, %d refused; want 1000 and %d", oks, limited, n-1000)
	}
	if got := h.metric("edgeplane_hub_limit_hits_total", "limit=subscriptions"); got != n-1000 {
		t.Fatalf("subscriptions hits %v", got)
	}
	hc.check()
	hc.noGap()
}

// TestScopedPresence: a dashboard token sees presence only with "presence"
// in ch, and then only the devices whose channel it may read; the devices
// reply is filtered the same way.
func TestScopedPresence(t *testing.T) {
	h := startTokenHub(t, nil)
	d := tokenDash(t, h, frame.ProtoJSON, mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/berlin-*", "presence"}, nil))
	d.sub(frame.ClientMessage{Ch: "presence"})
	tokenAgent(t, h, mintTok(t, testKey, "paris-1", auth.RoleDevice, time.Hour, nil, nil), "paris-1")
	tokenAgent(t, h, mintTok(t, testKey, "berlin-1", auth.RoleDevice, time.Hour, nil, nil), "berlin-1")
	if p, ok := d.next().(*frame.PresenceMsg); !ok || p.Device != "berlin-1" || !p.Online {
		t.Fatalf("presence %T %+v, want berlin-1 online (and nothing of paris-1)", p, p)
	}
	id := d.request(frame.ClientMessage{Op: frame.OpDevices})
	l, ok := d.next().(*frame.DeviceList)
	if !ok || l.ID != id || len(l.Devices) != 1 || l.Devices[0].ID != "berlin-1" {
		t.Fatalf("devices %+v", l)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTokensNotLogged: at trace level, with good and bad tokens on both
// links, no token (nor its signature) shows up in the hub's logs.
func TestTokensNotLogged(t *testing.T) {
	var logs syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: io.MultiWriter(&logs, t.Output()), Level: hclog.Trace, JSONFormat: true})
	srv, err := hubd.New(&hubd.Config{
		Auth:   &hubd.AuthConfig{Keys: []auth.KeyConfig{{ID: testKey.ID, HMACSecret: string(testKey.HMACSecret)}}},
		Limits: &hubd.LimitsConfig{AuthTimeout: "200ms"},
	}, &hubd.Options{Logger: log, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	h := &testHub{t: t, srv: srv, addr: ln.Addr().String()}

	toks := []string{
		mintTok(t, testKey, "pi-7", auth.RoleDevice, time.Hour, nil, nil),
		mintTok(t, otherKey, "pi-7", auth.RoleDevice, time.Hour, nil, nil),
		mintTok(t, testKey, "pi-7", auth.RoleDevice, -time.Hour, nil, nil),
		mintTok(t, testKey, "ops", auth.RoleDashboard, time.Hour, []string{"dev/*"}, nil),
	}
	a := tokenAgent(t, h, toks[0], "pi-7")
	a.publish(1)
	open := []*websocket.Conn{a.c}
	for _, tok := range toks[1:] {
		c1, _ := dialTok(t, h, "/v1/agent", frame.SubprotocolAgent, tok, nil)
		c2, _ := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, tok, nil)
		c, _ := dialTok(t, h, "/v1/ws", frame.SubprotocolJSON, "", nil)
		d := &testDash{t: t, c: c}
		d.request(frame.ClientMessage{Op: frame.OpAuth, Token: tok})
		d.tryNext()
		open = append(open, c1, c2, c)
	}
	d := tokenDash(t, h, frame.ProtoJSON, toks[3])
	d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	for _, c := range append(open, d.c) {
		if c != nil {
			c.CloseNow()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "agent connected") {
		t.Fatalf("logs do not show the traffic: %s", out)
	}
	for _, tok := range toks {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if strings.Contains(out, sig) {
			t.Fatalf("a token is in the logs")
		}
	}
}
