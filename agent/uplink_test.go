package agent_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/edgeplane/edgeplane/internal/frame"
)

const uplinkAgent = `
device_id = "pi-7"
labels = { site = "lab" }
flush_interval = "20ms"
hub {
  url = "HUB"
  token = "s3cret"
  reconnect_min = "10ms"
  reconnect_max = "50ms"
}
sensor "sim.sine" "t" {
  period = "10ms"
  kind = "temperature"
  unit = "°C"
}
sensor "sim.toggle" "door" {
  interval = "1s"
}
actuator "sim.relay" "relay1" {}
`

// frames reads FRAMEs until one with seq >= last, checking that seqs go up
// by one from first.
func readFrames(t *testing.T, hc *hubConn, first, last uint64) {
	t.Helper()
	want := first
	for want <= last {
		f := hc.frame()
		if f.Seq != want {
			t.Fatalf("FRAME seq %d, want %d", f.Seq, want)
		}
		if len(f.Samples) == 0 {
			t.Fatalf("FRAME %d has no samples", f.Seq)
		}
		want++
	}
}

func TestHelloResendAck(t *testing.T) {
	h := newTestHub(t)
	_, stop := startAgent(t, h, uplinkAgent)

	// First session: HELLO says who the agent is; frames are not acked.
	c1 := h.accept()
	if c1.auth != "Bearer s3cret" {
		t.Errorf("Authorization %q", c1.auth)
	}
	hello := c1.hello
	wantSensors := []frame.SensorInfo{
		{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 10, Resolution: 0.01},
		{ID: "door", Kind: "level"},
		{ID: "relay1", Kind: "relay"}, // actuators are announced as channels
	}
	if hello.DeviceID != "pi-7" || hello.AgentVersion == "" || hello.FirstSeq != 1 || len(hello.SpoolID) != 32 ||
		!reflect.DeepEqual(hello.Labels, map[string]string{"site": "lab"}) || !reflect.DeepEqual(hello.Sensors, wantSensors) {
		t.Fatalf("HELLO %+v", hello)
	}
	c1.send(&frame.Welcome{HubID: "hub-a", Region: "eu", AckedSeq: 0})
	readFrames(t, c1, 1, 5)
	c1.close() // the hub goes away without acking

	// Second session: nothing was acked, so the spool still starts at 1;
	// the hub says it has up to 3, so the agent resends from 4.
	c2 := h.accept()
	if c2.hello.FirstSeq != 1 || c2.hello.SpoolID != hello.SpoolID {
		t.Fatalf("second HELLO first_seq %d spool %q, want 1 and %q", c2.hello.FirstSeq, c2.hello.SpoolID, hello.SpoolID)
	}
	c2.send(&frame.Welcome{HubID: "hub-b", Region: "eu", AckedSeq: 3})
	readFrames(t, c2, 4, 8)
	c2.send(&frame.Ack{Seq: 8})
	// The ACK released 1..8: agent.info shows it right away.
	res, _ := c2.command("info", "agent.info", nil)
	if !res.OK {
		t.Fatalf("agent.info: %+v", res)
	}
	info := res.Result.(map[string]any)
	if info["first_seq"].(uint64) != 9 || info["device_id"] != "pi-7" || info["spool_id"] != hello.SpoolID {
		t.Fatalf("agent.info after ACK 8: %v", info)
	}
	c2.close()

	// Third session: the queue starts after what was acked.
	c3 := h.accept()
	if c3.hello.FirstSeq != 9 {
		t.Fatalf("third HELLO first_seq %d, want 9", c3.hello.FirstSeq)
	}
	c3.send(&frame.Welcome{HubID: "hub-a", Region: "eu", AckedSeq: 8})
	readFrames(t, c3, 9, 12)

	// Stopping the agent closes the link with 1001.
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for {
		_, err := c3.nextErr()
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
				t.Fatalf("agent closed with %v (%v), want 1001", s, err)
			}
			break
		}
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestCommands(t *testing.T) {
	h := newTestHub(t)
	startAgent(t, h, uplinkAgent)
	c := h.accept()
	c.send(&frame.Welcome{HubID: "hub-a", Region: "eu"})

	cases := []struct {
		id, name string
		args     map[string]any
		wantOK   bool
		want     any    // result when ok
		wantErr  string // part of the error otherwise
	}{
		{"1", "gpio.write", map[string]any{"pin": "relay1", "level": true}, true, map[string]any{"pin": "relay1", "level": true}, ""},
		{"2", "gpio.read", map[string]any{"pin": "relay1"}, true, map[string]any{"pin": "relay1", "level": true}, ""},
		// A resent command id is answered, not executed again.
		{"1", "gpio.write", map[string]any{"pin": "relay1", "level": false}, true, map[string]any{"pin": "relay1", "level": true}, ""},
		{"3", "gpio.read", map[string]any{"pin": "relay1"}, true, map[string]any{"pin": "relay1", "level": true}, ""},
		{"4", "gpio.write", map[string]any{"pin": "relay1", "level": uint64(0)}, true, map[string]any{"pin": "relay1", "level": false}, ""},
		{"5", "gpio.write", map[string]any{"pin": "relay9", "level": true}, false, nil, `no actuator "relay9"; this agent has [relay1]`},
		{"6", "gpio.write", map[string]any{"pin": "relay1"}, false, nil, "needs args.level"},
		{"7", "gpio.write", map[string]any{"pin": "relay1", "level": "sideways"}, false, nil, "must be true or false"},
		{"8", "reboot.now", nil, false, nil, `unknown command "reboot.now"`},
		{"9", "sensor.interval", map[string]any{"sensor": "t", "period": "50ms"}, true, map[string]any{"sensor": "t", "period_ms": uint64(50)}, ""},
		{"10", "sensor.interval", map[string]any{"sensor": "t", "period": "1ns"}, false, nil, "out of range"},
		{"11", "sensor.interval", map[string]any{"sensor": "x", "period": uint64(100)}, false, nil, `no sensor "x"`},
	}
	for _, tc := range cases {
		res, _ := c.command(tc.id, tc.name, tc.args)
		if res.OK != tc.wantOK {
			t.Fatalf("command %s %s: %+v", tc.id, tc.name, res)
		}
		if tc.wantOK && !reflect.DeepEqual(res.Result, tc.want) {
			t.Errorf("command %s %s: result %#v, want %#v", tc.id, tc.name, res.Result, tc.want)
		}
		if !tc.wantOK && (!strings.Contains(res.Error, tc.wantErr) || res.Result != nil) {
			t.Errorf("command %s %s: error %q, want it to contain %q", tc.id, tc.name, res.Error, tc.wantErr)
		}
	}
	// The new period is what the next HELLO announces.
	c.close()
	c2 := h.accept()
	if p := c2.hello.Sensors[0].PeriodMS; p != 50 {
		t.Errorf("HELLO after sensor.interval: period_ms %d, want 50", p)
	}
}

func TestInFlightWindow(t *testing.T) {
	h := newTestHub(t)
	startAgent(t, h, strings.Replace(uplinkAgent, `token = "s3cret"`, "max_inflight = 4", 1))
	c := h.accept()
	c.send(&frame.Welcome{HubID: "hub-a", Region: "eu"})
	readFrames(t, c, 1, 4)

	// Without an ACK nothing more is sent, however much is queued.
	waitQueued := func(atLeast uint64) {
		t.Helper()
		for i := 0; ; i++ {
			res, frames := c.command("q"+strings.Repeat("+", i), "agent.info", nil)
			if len(frames) > 0 {
				t.Fatalf("FRAME %d sent beyond the window of 4", frames[0].Seq)
			}
			if res.Result.(map[string]any)["queued_frames"].(uint64) >= atLeast {
				return
			}
		}
	}
	waitQueued(12)
	c.send(&frame.Ack{Seq: 2})
	readFrames(t, c, 5, 6)
	waitQueued(16)
}

func TestReconnectAfterRejection(t *testing.T) {
	h := newTestHub(t)
	h.setReject(http.StatusUnauthorized)
	startAgent(t, h, uplinkAgent)
	// The agent keeps trying; once the hub accepts, it connects.
	h.setReject(0)
	c := h.accept()
	// An ERROR from the hub ends the session; the agent comes back.
	c.send(&frame.Error{Code: frame.CodeUnavailable, Message: "draining"})
	c.close()
	c2 := h.accept()
	c2.send(&frame.Welcome{HubID: "hub-b", Region: "eu"})
	readFrames(t, c2, 1, 2)
	// A message the agent does not expect is a protocol error: ERROR 400, close 1008.
	c2.send(&frame.Welcome{HubID: "hub-b", Region: "eu"})
	for {
		m, err := c2.nextErr()
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
				t.Fatalf("close %v (%v), want 1008", s, err)
			}
			break
		}
		if e, ok := m.(*frame.Error); ok && e.Code != frame.CodeBadRequest {
			t.Fatalf("ERROR %d, want 400", e.Code)
		}
	}
	h.accept()
}

// An actuator's level is a channel of the device: reported at start and
// after each gpio.write, so a dashboard shows the switch's real state.
func TestActuatorLevelReported(t *testing.T) {
	h := newTestHub(t)
	startAgent(t, h, uplinkAgent)
	c := h.accept()
	c.send(&frame.Welcome{HubID: "hub-a", Region: "eu"})
	level := func(fs ...*frame.Frame) (v, found bool) {
		for _, f := range fs {
			for _, s := range f.Samples {
				if s.Sensor == "relay1" {
					v, found = s.Value.Bool(), true
				}
			}
		}
		return v, found
	}
	waitLevel := func(want bool, seen []*frame.Frame) {
		t.Helper()
		if v, ok := level(seen...); ok && v == want {
			return
		}
		for i := 0; i < 1000; i++ {
			if v, ok := level(c.frame()); ok {
				if v != want {
					t.Fatalf("relay1 reported %v, want %v", v, want)
				}
				return
			}
		}
		t.Fatalf("relay1 never reported %v", want)
	}
	waitLevel(false, nil) // the safe level, at start
	res, seen := c.command("w1", "gpio.write", map[string]any{"pin": "relay1", "level": true})
	if !res.OK {
		t.Fatalf("gpio.write: %+v", res)
	}
	waitLevel(true, seen)
}
