package hubd_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

func TestIngestHappyPath(t *testing.T) {
	h := startHub(t, nil)
	d := dialDash(t, h, frame.ProtoJSON)
	ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	if !ok.HasPos || ok.Off != 0 || ok.Epoch == "" {
		t.Fatalf("ok of an unknown device: %+v", ok)
	}

	a := connectAgent(t, h, "pi-7")
	if a.welcome.HubID != "hub-t" || a.welcome.Region != "test" || a.welcome.AckedSeq != 0 {
		t.Fatalf("welcome %+v", a.welcome)
	}
	a.publish(3)
	a.publishBatch(20) // a spool replay: one message, one ACK

	fs := d.frames(23)
	checkContiguous(t, fs, 1)
	for i, f := range fs {
		if f.Seq != uint64(i+1) || f.Device != "pi-7" || f.Ch != "dev/pi-7" {
			t.Fatalf("frame %d: %+v", i, f)
		}
		if f.T0 != testFrame(f.Seq).T0 || len(f.Samples) != 2 {
			t.Fatalf("frame %d: %+v", i, f)
		}
		// Values are rounded to the resolution the HELLO declared.
		want := math.Round((20.87+float64(f.Seq%10)/100)*100) / 100
		if got := f.Samples[0].Value.Float64(); got != want {
			t.Fatalf("frame %d: t = %v, want %v", i, got, want)
		}
	}
	if got := h.metric("edgeplane_hub_frames_in_total", ""); got != 23 {
		t.Fatalf("frames_in %v", got)
	}

	// A resend after a reconnect is ACKed and not stored twice; WELCOME
	// tells what is stored for the spool.
	a.c.Close(websocket.StatusNormalClosure, "")
	a2 := connectAgentSpool(t, h, "pi-7", "spool-pi-7", 1)
	if a2.welcome.AckedSeq != 23 {
		t.Fatalf("acked_seq after reconnect %d, want 23", a2.welcome.AckedSeq)
	}
	a2.send(testFrame(22), testFrame(23))
	a2.waitAck(23)
	a2.seq = 23
	a2.publish(1)
	if f := d.frames(1)[0]; f.Off != 24 || f.Seq != 24 {
		t.Fatalf("after duplicates: %+v", f)
	}
	if got := h.metric("edgeplane_hub_duplicates_total", ""); got != 2 {
		t.Fatalf("duplicates %v", got)
	}

	// A new spool id starts again: acked_seq 0.
	a2.c.Close(websocket.StatusNormalClosure, "")
	a3 := connectAgentSpool(t, h, "pi-7", "spool-new", 1)
	if a3.welcome.AckedSeq != 0 {
		t.Fatalf("acked_seq of a new spool %d", a3.welcome.AckedSeq)
	}
	// A jump forward is accepted and counted.
	a3.publish(1)
	a3.seq = 10
	a3.publish(1)
	if got := h.metric("edgeplane_hub_seq_jumps_total", ""); got != 1 {
		t.Fatalf("seq jumps %v", got)
	}
	if got := h.metric("edgeplane_hub_seq_skipped_frames_total", ""); got != 9 {
		t.Fatalf("skipped frames %v", got)
	}
}

// TestIngestBadInput walks the agent link's table of bad inputs while
// another agent keeps being served.
func TestIngestBadInput(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.Limits.AgentMessageBytes = "4KiB" })
	d := dialDash(t, h, frame.ProtoCBOR)
	d.sub(frame.ClientMessage{Ch: "dev/good"})
	good := connectAgent(t, h, "good")

	hello := func() []byte {
		b, _ := frame.AppendAgent(nil, &frame.Hello{DeviceID: "bad", SpoolID: "s", FirstSeq: 1})
		return b
	}
	frameBytes, _ := frame.AppendAgent(nil, testFrame(1))
	cases := []struct {
		name   string
		msgs   [][]byte
		code   uint16 // ERROR code expected before the close; 0 = none
		status websocket.StatusCode
	}{
		{"frame before hello", [][]byte{frameBytes}, 400, websocket.StatusPolicyViolation},
		{"second hello", [][]byte{hello(), hello()}, 400, websocket.StatusPolicyViolation},
		{"missing required key", [][]byte{{0xa2, 0x00, 0x01, 0x01, 0x63, 'b', 'a', 'd'}}, 400, websocket.StatusPolicyViolation},
		{"garbage", [][]byte{{0xff, 0xfe, 0x00, 0x13}}, 0, websocket.StatusInvalidFramePayloadData},
		{"oversize", [][]byte{make([]byte, 8<<10)}, 413, websocket.StatusMessageTooBig},
		{"hub message kind", [][]byte{mustAgent(t, &frame.Ack{Seq: 1})}, 400, websocket.StatusPolicyViolation},
		{"bad device id", [][]byte{{0xa4, 0x00, 0x01, 0x01, 0x63, 'a', '/', 'b', 0x05, 0x01, 0x06, 0x61, 's'}}, 400, websocket.StatusPolicyViolation},
	}
	seq := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAgent(t, h)
			a := &testAgent{t: t, c: c}
			for i, b := range tc.msgs {
				a.sendRaw(b)
				if i == 0 && len(tc.msgs) > 1 {
					if _, ok := a.read().(*frame.Welcome); !ok {
						t.Fatal("want WELCOME")
					}
				}
			}
			m, err := a.tryRead()
			if tc.code != 0 {
				e, ok := m.(*frame.Error)
				if err != nil || !ok || e.Code != tc.code || e.Message == "" {
					t.Fatalf("want ERROR %d, got %T %+v (%v)", tc.code, m, m, err)
				}
				_, err = a.tryRead()
			}
			if got := websocket.CloseStatus(err); got != tc.status {
				t.Fatalf("close status %v (%v), want %v", got, err, tc.status)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Reason == "" {
				t.Fatalf("close without a reason")
			}
			// The good agent is still served.
			seq++
			good.publish(1)
			if f := d.frames(1)[0]; f.Seq != uint64(seq) {
				t.Fatalf("good agent frame %+v", f)
			}
		})
	}
}

func mustAgent(t testing.TB, m frame.Message) []byte {
	b, err := frame.AppendAgent(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpgradeRefused(t *testing.T) {
	h := startHub(t, func(c *hubd.Config) { c.AllowAnonymous = false })
	cases := []struct {
		name   string
		path   string
		protos []string
		status int
	}{
		{"agent without subprotocol", "/v1/agent", nil, http.StatusBadRequest},
		{"agent with a dashboard subprotocol", "/v1/agent", []string{frame.SubprotocolJSON}, http.StatusBadRequest},
		{"dashboard without subprotocol", "/v1/ws", nil, http.StatusBadRequest},
		{"dashboard with the agent subprotocol", "/v1/ws", []string{frame.SubprotocolAgent}, http.StatusBadRequest},
		{"agent without token", "/v1/agent", []string{frame.SubprotocolAgent}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, h.url(tc.path), &websocket.DialOptions{Subprotocols: tc.protos})
			if err == nil {
				c.CloseNow()
				t.Fatal("upgrade accepted")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, want HTTP %d", resp, tc.status)
			}
		})
	}
}

func TestDeviceReplaced(t *testing.T) {
	h := startHub(t, nil)
	a1 := connectAgent(t, h, "pi-1")
	a2 := connectAgent(t, h, "pi-1")
	if _, err := a1.tryRead(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("old link: %v", err)
	}
	a2.publish(1)
	h.waitMetric("edgeplane_hub_agents", "", 1)
}

// TestAckCumulative: frames sent without waiting are acknowledged by
// cumulative ACKs that only grow and end at the last seq.
func TestAckCumulative(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	const n = 200
	for i := uint64(1); i <= n; i++ {
		a.send(testFrame(i))
	}
	var last uint64
	acks := 0
	for last < n {
		ack, ok := a.read().(*frame.Ack)
		if !ok || ack.Seq <= last {
			t.Fatalf("after ACK %d: %+v", last, ack)
		}
		last = ack.Seq
		acks++
	}
	t.Logf("%d frames, %d ACKs", n, acks)
}

// TestAckBeforeProtocolError: the frames of a message before a bad one are
// stored and ACKed before the link is closed, so the agent does not send
// them again; the bad one and those after it are not stored.
func TestAckBeforeProtocolError(t *testing.T) {
	h := startHub(t, nil)
	d := dialDash(t, h, frame.ProtoJSON)
	d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	a := connectAgent(t, h, "pi-7")
	bad := &frame.Hello{DeviceID: "pi-7", SpoolID: "spool-pi-7", FirstSeq: 1} // a second HELLO
	a.send(testFrame(1), testFrame(2), testFrame(3), testFrame(4), testFrame(5), bad, testFrame(6))
	var acked uint64
	for {
		m, err := a.tryRead()
		if err != nil {
			t.Fatalf("after ACK %d: %v", acked, err)
		}
		if ack, ok := m.(*frame.Ack); ok {
			acked = ack.Seq
			continue
		}
		if e, ok := m.(*frame.Error); !ok || e.Code != 400 {
			t.Fatalf("want ERROR 400, got %T %+v", m, m)
		}
		break
	}
	if acked != 5 {
		t.Fatalf("ACKed %d before the ERROR, want 5", acked)
	}
	if _, err := a.tryRead(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("close: %v, want 1008", err)
	}
	fs := d.frames(5)
	checkContiguous(t, fs, 1)
	if fs[4].Seq != 5 {
		t.Fatalf("last frame stored %+v", fs[4])
	}
	a2 := connectAgentSpool(t, h, "pi-7", "spool-pi-7", 6)
	if a2.welcome.AckedSeq != 5 {
		t.Fatalf("acked_seq %d after the close, want 5", a2.welcome.AckedSeq)
	}
}
