package hubd_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

var protos = []struct {
	name string
	p    frame.Proto
}{{"json", frame.ProtoJSON}, {"cbor", frame.ProtoCBOR}}

func TestSubLive(t *testing.T) {
	for _, pc := range protos {
		t.Run(pc.name, func(t *testing.T) {
			h := startHub(t, nil)
			a := connectAgent(t, h, "pi-7")
			a.publish(5) // before the sub: not delivered
			d := dialDash(t, h, pc.p)
			ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
			if ok.Off != 5 || ok.Recovered != nil || ok.Filtered {
				t.Fatalf("ok %+v", ok)
			}
			a.publish(50)
			a.publishBatch(50)
			fs := d.frames(100)
			checkContiguous(t, fs, 6)
			for _, f := range fs {
				if f.Seq != f.Off {
					t.Fatalf("seq %d at off %d", f.Seq, f.Off)
				}
			}
		})
	}
}

// TestSinceRecovery: a client that missed 50 frames gets exactly those 50
// and then the live ones, while the agent keeps publishing.
func TestSinceRecovery(t *testing.T) {
	for _, pc := range protos {
		t.Run(pc.name, func(t *testing.T) {
			h := startHub(t, nil)
			a := connectAgent(t, h, "pi-7")
			d := dialDash(t, h, pc.p)
			ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
			a.publish(10)
			last := d.frames(10)[9]
			d.c.Close(websocket.StatusNormalClosure, "")

			a.publish(50)

			// Publish while the client recovers: replay and live must meet
			// with no gap and no duplicate.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.publish(100)
			}()
			d2 := dialDash(t, h, pc.p)
			ok2 := d2.sub(frame.ClientMessage{Ch: "dev/pi-7", Since: &frame.Since{Epoch: ok.Epoch, Off: last.Off}})
			if ok2.Recovered == nil || !*ok2.Recovered || ok2.Epoch != ok.Epoch || ok2.Off < 60 {
				t.Fatalf("ok %+v", ok2)
			}
			fs := d2.frames(150)
			checkContiguous(t, fs, 11)
			wg.Wait()
		})
	}
}

func TestSinceNotRecovered(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.Backplane = &hubd.BackplaneConfig{HistorySize: 10} })
	a := connectAgent(t, h, "pi-7")
	a.publish(30)
	cases := []struct {
		name  string
		since frame.Since
	}{
		{"other epoch", frame.Since{Epoch: "not-the-epoch", Off: 25}},
		{"trimmed", frame.Since{Epoch: "", Off: 5}}, // epoch filled in below
	}
	d := dialDash(t, h, frame.ProtoJSON)
	epoch := d.sub(frame.ClientMessage{Ch: "dev/pi-7"}).Epoch
	d.request(frame.ClientMessage{Op: frame.OpUnsub, Ch: "dev/pi-7"})
	d.next()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			since := tc.since
			if since.Epoch == "" {
				since.Epoch = epoch
			}
			d := dialDash(t, h, frame.ProtoJSON)
			ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7", Since: &since})
			if ok.Recovered == nil || *ok.Recovered || ok.Off != a.seq {
				t.Fatalf("ok %+v", ok)
			}
			a.publish(1)
			if f := d.frames(1)[0]; f.Off != a.seq {
				t.Fatalf("first frame after recovered:false: off %d, want the live %d", f.Off, a.seq)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	a.publish(20)
	cases := []struct {
		name    string
		history int
		first   uint64
	}{
		{"last 5", 5, 16},
		{"more than exist", 100, 1},
		{"since wins", 3, 19}, // with since off 18 below
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dialDash(t, h, frame.ProtoCBOR)
			m := frame.ClientMessage{Ch: "dev/pi-7", History: tc.history}
			if tc.name == "since wins" {
				ep := dialDash(t, h, frame.ProtoCBOR).sub(frame.ClientMessage{Ch: "dev/pi-7"}).Epoch
				m.Since = &frame.Since{Epoch: ep, Off: 18}
				m.History = 10
			}
			ok := d.sub(m)
			if ok.Off != 20 {
				t.Fatalf("ok %+v", ok)
			}
			fs := d.frames(int(21 - tc.first))
			checkContiguous(t, fs, tc.first)
		})
	}
	// Live frames follow the replay.
	d := dialDash(t, h, frame.ProtoJSON)
	d.sub(frame.ClientMessage{Ch: "dev/pi-7", History: 2})
	a.publish(2)
	checkContiguous(t, d.frames(4), 19)
}

// TestSlowConsumer: a client that stops reading is closed with 1013; a
// healthy client on the same channel goes on without a gap.
func TestSlowConsumer(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) {
		c.Limits.SendQueueBytes = "256KiB"
		c.Backplane = &hubd.BackplaneConfig{HistorySize: 100}
	})
	a := connectAgent(t, h, "pi-7")
	healthy := dialDash(t, h, frame.ProtoJSON)
	healthy.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	slow := dialDashSmallBuffer(t, h, frame.ProtoJSON)
	slow.sub(frame.ClientMessage{Ch: "dev/pi-7"})

	// Big frames (a long sensor id is cheap to encode) so that socket
	// buffers fill soon.
	long := strings.Repeat("x", 4000)
	big := func(seq uint64) *frame.Frame {
		f := testFrame(seq)
		f.Samples = append(f.Samples, frame.Sample{Sensor: long, Value: frame.Float(20.87)})
		return f
	}
	var got []*frame.DashFrame
	for h.metric("edgeplane_hub_slow_consumers_total", "reason=queue_bytes")+
		h.metric("edgeplane_hub_slow_consumers_total", "reason=queue_messages") == 0 {
		if a.seq > 200_000 {
			t.Fatal("the slow consumer was never closed")
		}
		ms := make([]frame.Message, 50)
		for i := range ms {
			a.seq++
			ms[i] = big(a.seq)
		}
		a.send(ms...)
		a.waitAck(a.seq)
		got = append(got, healthy.frames(50)...)
	}
	t.Logf("slow consumer closed after %d frames", a.seq)
	checkContiguous(t, got, 1)
	if code, reason := slow.closeStatus(); code != websocket.StatusTryAgainLater || !strings.Contains(reason, "slow consumer") {
		t.Fatalf("slow client closed with %v %q, want 1013", code, reason)
	}
	// The healthy one goes on.
	a.publish(3)
	checkContiguous(t, healthy.frames(3), a.seq-2)
}

func TestDevicesAndPresence(t *testing.T) {
	h := startHub(t, nil)
	d := dialDash(t, h, frame.ProtoJSON)
	ok := d.sub(frame.ClientMessage{Ch: "presence"})
	if ok.Ch != "presence" || ok.HasPos {
		t.Fatalf("presence ok %+v", ok)
	}
	a := connectAgent(t, h, "pi-7")
	p, isP := d.next().(*frame.PresenceMsg)
	if !isP || p.Device != "pi-7" || !p.Online || p.Hub != "hub-t" || p.Region != "test" {
		t.Fatalf("presence %+v", p)
	}
	id := d.request(frame.ClientMessage{Op: frame.OpDevices})
	dl, isDL := d.next().(*frame.DeviceList)
	if !isDL || dl.ID != id || len(dl.Devices) != 1 {
		t.Fatalf("devices %+v", dl)
	}
	di := dl.Devices[0]
	if di.ID != "pi-7" || !di.Online || di.Hub != "hub-t" || di.Labels["site"] != "lab" || len(di.Sensors) != 2 ||
		di.Sensors[0].Unit != "°C" || di.Sensors[0].Resolution != 0.01 || di.AgentVersion != "test" || di.LastSeen == 0 {
		t.Fatalf("device %+v", di)
	}
	a.c.Close(websocket.StatusNormalClosure, "")
	p, isP = d.next().(*frame.PresenceMsg)
	if !isP || p.Device != "pi-7" || p.Online {
		t.Fatalf("presence after disconnect %+v", p)
	}
	d.request(frame.ClientMessage{Op: frame.OpDevices})
	dl = d.next().(*frame.DeviceList)
	if len(dl.Devices) != 1 || dl.Devices[0].Online || dl.Devices[0].Hub != "" {
		t.Fatalf("devices after disconnect %+v", dl)
	}
}

func TestPingUnsubErrors(t *testing.T) {
	for _, pc := range protos {
		t.Run(pc.name, func(t *testing.T) {
			h := startHub(t, nil)
			a := connectAgent(t, h, "pi-7")
			d := dialDash(t, h, pc.p)

			id := d.request(frame.ClientMessage{Op: frame.OpPing})
			if p, ok := d.next().(*frame.Pong); !ok || p.ID != id {
				t.Fatalf("pong %+v", p)
			}
			d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
			a.publish(1)
			d.frames(1)
			id = d.request(frame.ClientMessage{Op: frame.OpUnsub, Ch: "dev/pi-7"})
			if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id || ok.Ch != "dev/pi-7" {
				t.Fatalf("unsub ok %+v", ok)
			}
			a.publish(1) // not delivered: the next message is the pong
			id = d.request(frame.ClientMessage{Op: frame.OpUnsub, Ch: "dev/never"})
			if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id {
				t.Fatalf("unsub of a channel not subscribed: %+v", ok)
			}

			cases := []struct {
				name string
				m    frame.ClientMessage
				code int
			}{
				{"sub twice", frame.ClientMessage{Op: frame.OpSub, Ch: "dev/x"}, 400},
				{"cmd to unknown device", frame.ClientMessage{Op: frame.OpCmd, Device: "nobody", Name: "gpio.write"}, 404},
			}
			d.sub(frame.ClientMessage{Ch: "dev/x"})
			for _, tc := range cases {
				id := d.request(tc.m)
				e, ok := d.next().(*frame.ErrorReply)
				if !ok || e.ID != id || e.Code != tc.code || e.Message == "" {
					t.Fatalf("%s: want error %d, got %+v", tc.name, tc.code, e)
				}
			}
			// Decodable but invalid: error 400, the connection stays.
			bad := `{"op":"nope","id":77}`
			if pc.p == frame.ProtoCBOR {
				bad = "\xa2\x62op\x64nope\x62id\x18\x4d"
			}
			d.writeRaw([]byte(bad))
			if e, ok := d.next().(*frame.ErrorReply); !ok || e.Code != 400 {
				t.Fatalf("unknown op: %+v", e)
			}
			id = d.request(frame.ClientMessage{Op: frame.OpPing})
			if p, ok := d.next().(*frame.Pong); !ok || p.ID != id {
				t.Fatalf("pong after errors: %T %+v", p, p)
			}
			// Undecodable: 1007.
			d.writeRaw([]byte("\xff\x00garbage"))
			if code, _ := d.closeStatus(); code != websocket.StatusInvalidFramePayloadData {
				t.Fatalf("garbage: close %v", code)
			}
		})
	}
}

func TestClientTooLarge(t *testing.T) {
	h := startHub(t, nil)
	d := dialDash(t, h, frame.ProtoJSON)
	d.writeRaw([]byte(`{"op":"ping","id":1,"x":"` + strings.Repeat("a", 70<<10) + `"}`))
	if code, _ := d.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close %v, want 1009", code)
	}
}

type tokenAuth map[string]hubd.Identity

func (a tokenAuth) Authenticate(_ context.Context, c hubd.Credentials) (hubd.Identity, error) {
	if id, ok := a[c.Token]; ok {
		return id, nil
	}
	return hubd.Identity{}, hubd.ErrUnauthenticated
}

func TestAuth(t *testing.T) {
	auth := tokenAuth{
		"viewer": {Role: hubd.RoleViewer, Subject: "v"},
		"device": {Role: hubd.RoleDevice, Subject: "pi-7"},
	}
	h := startHubOpts(t, func(c *hubd.Config) {
		c.AllowAnonymous = false
		c.Limits.AuthTimeout = "200ms"
	}, &hubd.Options{Authenticator: auth})

	cases := []struct {
		name  string
		first *frame.ClientMessage // nil: send nothing
	}{
		{"other message first", &frame.ClientMessage{Op: frame.OpPing}},
		{"bad token", &frame.ClientMessage{Op: frame.OpAuth, Token: "wrong"}},
		{"device token", &frame.ClientMessage{Op: frame.OpAuth, Token: "device"}},
		{"no auth in time", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dialDash(t, h, frame.ProtoJSON)
			if tc.first != nil {
				d.request(*tc.first)
			}
			if code, reason := d.closeStatus(); code != websocket.StatusPolicyViolation || reason == "" {
				t.Fatalf("close %v %q, want 1008 with a reason", code, reason)
			}
		})
	}
	d := dialDash(t, h, frame.ProtoCBOR)
	id := d.request(frame.ClientMessage{Op: frame.OpAuth, Token: "viewer"})
	if ok, isOK := d.next().(*frame.OK); !isOK || ok.ID != id {
		t.Fatalf("auth ok %+v", ok)
	}
	// That the deadline no longer applies after auth is tested under
	// synctest in TestAuthMessageStopsDeadline.
	d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	id = d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "gpio.write"})
	if e, ok := d.next().(*frame.ErrorReply); !ok || e.ID != id || e.Code != 403 {
		t.Fatalf("viewer cmd: %+v", e)
	}
}

func startHubOpts(t testing.TB, mod func(c *hubd.Config), opts *hubd.Options) *testHub {
	t.Helper()
	return startHubWith(t, mod, opts)
}

func TestCommand(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.Limits.CommandTimeout = "300ms" })
	a := connectAgent(t, h, "pi-7")
	d := dialDash(t, h, frame.ProtoJSON)

	id := d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "gpio.write", Args: map[string]any{"pin": "relay1", "level": true}})
	cmd, ok := a.read().(*frame.Command)
	if !ok || cmd.Name != "gpio.write" || cmd.Args["pin"] != "relay1" || cmd.Args["level"] != true || cmd.ID == "" {
		t.Fatalf("COMMAND %+v", cmd)
	}
	a.send(&frame.Result{ID: cmd.ID, OK: true, Result: map[string]any{"level": true}})
	r, isR := d.next().(*frame.CmdResult)
	if !isR || r.ID != id || !r.OK {
		t.Fatalf("result %+v", r)
	}

	id = d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "gpio.write"})
	cmd = a.read().(*frame.Command)
	a.send(&frame.Result{ID: cmd.ID, OK: false, Error: "no such pin"})
	if r, _ := d.next().(*frame.CmdResult); r == nil || r.ID != id || r.OK || r.Error != "no such pin" {
		t.Fatalf("failed result %+v", r)
	}

	// No RESULT: 408 after the command timeout.
	id = d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "slow"})
	a.read()
	if e, ok := d.next().(*frame.ErrorReply); !ok || e.ID != id || e.Code != 408 {
		t.Fatalf("timeout: %+v", e)
	}
	if got := h.metric("edgeplane_hub_commands_total", "result=timeout"); got != 1 {
		t.Fatalf("timeouts %v", got)
	}
}

// TestDrain: Shutdown closes every WebSocket with 1001 and Serve returns.
func TestDrain(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	ds := []*testDash{dialDash(t, h, frame.ProtoJSON), dialDash(t, h, frame.ProtoCBOR)}
	for _, d := range ds {
		d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	}
	a.publish(1)
	for _, d := range ds {
		d.frames(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- h.srv.Shutdown(ctx) }()
	for _, d := range ds {
		if code, reason := d.closeStatus(); code != websocket.StatusGoingAway || reason == "" {
			t.Fatalf("session closed with %v %q, want 1001", code, reason)
		}
	}
	if _, err := a.tryRead(); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("agent: %v, want 1001", err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatal(err)
		}
		h.done <- nil
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after Shutdown")
	}
}
