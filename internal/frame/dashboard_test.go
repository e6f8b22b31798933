package frame_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func ptr[T any](v T) *T { return &v }

var protos = []struct {
	name string
	p    frame.Proto
}{{"json", frame.ProtoJSON}, {"cbor", frame.ProtoCBOR}}

// serverExamples are the hub -> client messages of PROTOCOL.md with their
// exact JSON.
var serverExamples = []struct {
	name string
	m    frame.ServerMessage
	json string
}{
	{"ok auth", &frame.OK{ID: 0}, `{"op":"ok","id":0}`},
	{"ok sub", &frame.OK{ID: 1, Ch: "dev/pi-7", HasPos: true, Epoch: "Kx3v", Off: 57}, `{"op":"ok","id":1,"ch":"dev/pi-7","epoch":"Kx3v","off":57}`},
	{"ok sub empty", &frame.OK{ID: 1, Ch: "dev/pi-9", HasPos: true, Epoch: "Kx3v"}, `{"op":"ok","id":1,"ch":"dev/pi-9","epoch":"Kx3v","off":0}`},
	{"ok recovered", &frame.OK{ID: 1, Ch: "dev/pi-7", HasPos: true, Epoch: "Kx3v", Off: 57, Recovered: ptr(true), Filtered: true},
		`{"op":"ok","id":1,"ch":"dev/pi-7","epoch":"Kx3v","off":57,"recovered":true,"filtered":true}`},
	{"ok not recovered", &frame.OK{ID: 1, Ch: "dev/pi-7", HasPos: true, Epoch: "Kx3v", Off: 57, Recovered: ptr(false)},
		`{"op":"ok","id":1,"ch":"dev/pi-7","epoch":"Kx3v","off":57,"recovered":false}`},
	{"ok presence", &frame.OK{ID: 6, Ch: "presence"}, `{"op":"ok","id":6,"ch":"presence"}`},
	{"frame", &frame.DashFrame{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: 1234, T0: 1733318400123456000,
		Samples: []frame.Sample{{Sensor: "t", DT: 0, Value: frame.Rounded(21.5, 0.01)}}},
		`{"op":"frame","ch":"dev/pi-7","off":58,"device":"pi-7","seq":1234,"t0":1733318400123.456,"samples":[["t",0,21.5]]}`},
	{"frame values", &frame.DashFrame{Ch: "dev/pi-7", Off: 59, Device: "pi-7", Seq: 1235, T0: 1733318400000000000,
		Samples: []frame.Sample{
			{Sensor: "t", DT: 0, Value: frame.Rounded(20.8712, 0.01)},
			{Sensor: "rh", DT: 1000, Value: frame.Rounded(45.0, 0.1)},
			{Sensor: "door", DT: 2000, Value: frame.Bool(false)},
			{Sensor: "n", DT: 3000, Value: frame.Int(-7)},
			{Sensor: "e", DT: 4000, Value: frame.Float(1e21)},
			{Sensor: "s", DT: 5000, Value: frame.Float(-1.5e-7)},
		}},
		`{"op":"frame","ch":"dev/pi-7","off":59,"device":"pi-7","seq":1235,"t0":1733318400000,"samples":[["t",0,20.87],["rh",1000,45.0],["door",2000,false],["n",3000,-7],["e",4000,1e+21],["s",5000,-1.5e-7]]}`},
	{"presence", &frame.PresenceMsg{Device: "pi-7", Online: true, Hub: "hub-a", Region: "eu"},
		`{"op":"presence","ch":"presence","device":"pi-7","online":true,"hub":"hub-a","region":"eu"}`},
	{"presence offline", &frame.PresenceMsg{Device: "pi-7"}, `{"op":"presence","ch":"presence","device":"pi-7","online":false}`},
	{"reset", &frame.Reset{Ch: "dev/pi-7", Epoch: "Qm9v"}, `{"op":"reset","ch":"dev/pi-7","epoch":"Qm9v"}`},
	{"result", &frame.CmdResult{ID: 4, OK: true, Result: map[string]any{"level": true}}, `{"op":"result","id":4,"ok":true,"result":{"level":true}}`},
	{"result bare", &frame.CmdResult{ID: 4, OK: true}, `{"op":"result","id":4,"ok":true}`},
	{"result error", &frame.CmdResult{ID: 4, Error: "command timed out"}, `{"op":"result","id":4,"ok":false,"error":"command timed out"}`},
	{"error", &frame.ErrorReply{ID: 1, HasID: true, Code: 404, Message: "no such device"}, `{"op":"error","id":1,"code":404,"message":"no such device"}`},
	{"error unasked", &frame.ErrorReply{Code: 429, Message: "too many subscriptions"}, `{"op":"error","code":429,"message":"too many subscriptions"}`},
	{"pong", &frame.Pong{ID: 5}, `{"op":"pong","id":5}`},
	{"devices", &frame.DeviceList{ID: 3, Devices: []frame.DeviceInfo{
		{ID: "pi-7", Online: true, Hub: "hub-a", Region: "eu", Labels: map[string]string{"site": "berlin", "floor": "2"},
			Sensors:      []frame.SensorInfo{{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01}},
			AgentVersion: "1.2.0", LastSeen: 1733318400123456000},
		{ID: "pi-8", Hub: "hub-b", Region: "eu"},
	}}, `{"op":"devices","id":3,"devices":[{"id":"pi-7","online":true,"hub":"hub-a","region":"eu","labels":{"floor":"2","site":"berlin"},"sensors":[{"id":"t","kind":"temperature","unit":"°C","period_ms":1000,"resolution":0.01}],"agent_version":"1.2.0","last_seen":1733318400123.456},{"id":"pi-8","online":false,"labels":{},"sensors":[],"last_seen":0}]}`},
	{"devices none", &frame.DeviceList{ID: 3}, `{"op":"devices","id":3,"devices":[]}`},
}

func TestAppendServerJSON(t *testing.T) {
	for _, tt := range serverExamples {
		t.Run(tt.name, func(t *testing.T) {
			b, err := frame.AppendServer(nil, tt.m, frame.ProtoJSON)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Fatalf("got  %s\nwant %s", b, tt.json)
			}
		})
	}
}

// normServer is what a server message looks like after a round trip:
// presence hub/region and device hub/region only while online, nil labels
// and sensors as empty ones, float values without their resolution.
func normServer(m frame.ServerMessage) frame.ServerMessage {
	switch m := m.(type) {
	case *frame.DashFrame:
		c := *m
		c.Samples = stripRes(m.Samples)
		if c.Samples == nil {
			c.Samples = []frame.Sample{}
		}
		return &c
	case *frame.DeviceList:
		c := *m
		c.Devices = make([]frame.DeviceInfo, len(m.Devices))
		for i, d := range m.Devices {
			if !d.Online {
				d.Hub, d.Region = "", ""
			}
			if d.Labels == nil {
				d.Labels = map[string]string{}
			}
			if d.Sensors == nil {
				d.Sensors = []frame.SensorInfo{}
			}
			c.Devices[i] = d
		}
		return &c
	case *frame.CmdResult:
		c := *m
		if !c.OK {
			c.Result = nil
		}
		return &c
	}
	return m
}

// sameServer compares decoded server messages; CBOR float samples are
// compared at the resolution they were sent with.
func sameServer(t *testing.T, sent, got frame.ServerMessage) {
	t.Helper()
	if sf, ok := sent.(*frame.DashFrame); ok {
		gf, ok := got.(*frame.DashFrame)
		if !ok {
			t.Fatalf("got %T, want a frame", got)
		}
		sameSamples(t, sf.Samples, gf.Samples)
		a, b := *sf, *gf
		a.Samples, b.Samples = nil, nil
		if !deepEqual(a, b) {
			t.Fatalf("got %+v\nwant %+v", b, a)
		}
		return
	}
	if want := normServer(sent); !deepEqual(want, got) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestServerRoundTrip(t *testing.T) {
	for _, pr := range protos {
		t.Run(pr.name, func(t *testing.T) {
			var batch []byte
			for _, tt := range serverExamples {
				b, err := frame.AppendServer(nil, tt.m, pr.p)
				if err != nil {
					t.Fatal(err)
				}
				ms, err := frame.DecodeServer(b, pr.p, nil)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if len(ms) != 1 {
					t.Fatalf("%s: decoded %d messages", tt.name, len(ms))
				}
				sameServer(t, tt.m, ms[0])
				if pr.p == frame.ProtoJSON {
					if !json.Valid(b) {
						t.Fatalf("%s: invalid JSON %s", tt.name, b)
					}
					if len(batch) > 0 {
						batch = append(batch, '\n')
					}
				}
				batch = append(batch, b...)
			}
			ms, err := frame.DecodeServer(batch, pr.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(serverExamples) {
				t.Fatalf("batch: got %d messages, want %d", len(ms), len(serverExamples))
			}
			for i, tt := range serverExamples {
				sameServer(t, tt.m, ms[i])
			}
		})
	}
}

// TestServerRealisticFrame: a big frame survives both encodings, CBOR
// floats within half their resolution.
func TestServerRealisticFrame(t *testing.T) {
	f := realisticFrame(10)
	d := &frame.DashFrame{Ch: "dev/pi-7", Off: 1, Device: "pi-7", Seq: f.Seq, T0: f.T0, Samples: f.Samples}
	for _, pr := range protos {
		b, err := frame.AppendServer(nil, d, pr.p)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := frame.DecodeServer(b, pr.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameServer(t, d, ms[0])
		if pr.p == frame.ProtoJSON {
			// JSON carries the rounded decimal exactly.
			if !deepEqual(stripRes(f.Samples), ms[0].(*frame.DashFrame).Samples) {
				t.Fatal("JSON did not carry the rounded decimals exactly")
			}
		}
	}
}

func TestJSONStrings(t *testing.T) {
	for _, s := range []string{"plain", `q"uo\te`, "new\nline\r\t\x00\x1f", "ünï°C", "bad\xffutf8", "js\u2028\u2029", "<&>"} {
		b, err := frame.AppendServer(nil, &frame.Reset{Ch: "dev/x", Epoch: s}, frame.ProtoJSON)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Epoch string }
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got.Epoch != want {
			t.Errorf("%q came back as %q", s, got.Epoch)
		}
		if bytes.ContainsRune(b, '\u2028') {
			t.Errorf("U+2028 not escaped: %s", b)
		}
	}
}

func TestAppendServerRefusesNonFinite(t *testing.T) {
	for _, pr := range protos {
		m := &frame.DashFrame{Ch: "dev/x", Device: "x", Samples: []frame.Sample{{Sensor: "t", Value: frame.Float(nan())}}}
		if b, err := frame.AppendServer([]byte("x"), m, pr.p); err == nil || string(b) != "x" {
			t.Errorf("%s: AppendServer(NaN) = %q, %v", pr.name, b, err)
		}
	}
}

var clientExamples = []struct {
	name string
	m    frame.ClientMessage
	json string
}{
	{"auth", frame.ClientMessage{Op: "auth", HasID: true, Token: "eyJhbGciOi"}, `{"op":"auth","id":0,"token":"eyJhbGciOi"}`},
	{"sub", frame.ClientMessage{Op: "sub", ID: 1, HasID: true, Ch: "dev/pi-7"}, `{"op":"sub","id":1,"ch":"dev/pi-7"}`},
	{"sub since", frame.ClientMessage{Op: "sub", ID: 1, HasID: true, Ch: "dev/pi-7", Since: &frame.Since{Epoch: "Kx3v", Off: 41}},
		`{"op":"sub","id":1,"ch":"dev/pi-7","since":{"epoch":"Kx3v","off":41}}`},
	{"sub filtered", frame.ClientMessage{Op: "sub", ID: 1, HasID: true, Ch: "dev/pi-7", History: 100, Sensors: []string{"t", "rh"}, MaxRate: 10},
		`{"op":"sub","id":1,"ch":"dev/pi-7","history":100,"sensors":["t","rh"],"max_rate":10}`},
	{"sub minmax", frame.ClientMessage{Op: "sub", ID: 1, HasID: true, Ch: "dev/pi-7", History: 3600, MaxRate: 2, MinMax: true},
		`{"op":"sub","id":1,"ch":"dev/pi-7","history":3600,"max_rate":2,"minmax":true}`},
	{"sub presence", frame.ClientMessage{Op: "sub", ID: 6, HasID: true, Ch: "presence"}, `{"op":"sub","id":6,"ch":"presence"}`},
	{"unsub", frame.ClientMessage{Op: "unsub", ID: 2, HasID: true, Ch: "dev/pi-7"}, `{"op":"unsub","id":2,"ch":"dev/pi-7"}`},
	{"devices", frame.ClientMessage{Op: "devices", ID: 3, HasID: true}, `{"op":"devices","id":3}`},
	{"cmd", frame.ClientMessage{Op: "cmd", ID: 4, HasID: true, Device: "pi-7", Name: "gpio.write", Args: map[string]any{"pin": "relay1", "level": true}},
		`{"op":"cmd","id":4,"device":"pi-7","name":"gpio.write","args":{"level":true,"pin":"relay1"}}`},
	{"ping", frame.ClientMessage{Op: "ping", ID: 5, HasID: true}, `{"op":"ping","id":5}`},
	{"ping no id", frame.ClientMessage{Op: "ping"}, `{"op":"ping"}`},
}

func TestClientRoundTrip(t *testing.T) {
	for _, tt := range clientExamples {
		for _, pr := range protos {
			t.Run(tt.name+"/"+pr.name, func(t *testing.T) {
				b, err := frame.AppendClient(nil, &tt.m, pr.p)
				if err != nil {
					t.Fatal(err)
				}
				if pr.p == frame.ProtoJSON && string(b) != tt.json {
					t.Fatalf("got  %s\nwant %s", b, tt.json)
				}
				got, err := frame.DecodeClient(b, pr.p, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !deepEqual(got, tt.m) {
					t.Fatalf("got  %#v\nwant %#v", got, tt.m)
				}
			})
		}
	}
}

func TestDecodeClientNumbers(t *testing.T) {
	m, err := frame.DecodeClient([]byte(`{"op":"sub","id":1,"ch":"dev/a","max_rate":0.5,"history":3}`), frame.ProtoJSON, nil)
	if err != nil || m.MaxRate != 0.5 || m.History != 3 {
		t.Fatalf("got %+v, %v", m, err)
	}
	// 100k digits are read in one pass: a number like any other.
	m, err = frame.DecodeClient([]byte(`{"op":"sub","id":1,"ch":"dev/a","max_rate":0.`+strings.Repeat("1", 100000)+`}`), frame.ProtoJSON, &frame.Limits{MaxMessageBytes: 1 << 20})
	if err != nil || m.MaxRate != 1.0/9 {
		t.Fatalf("100k-digit max_rate: %v, %v", m.MaxRate, err)
	}
	m, err = frame.DecodeClient([]byte(`{"op":"cmd","device":"a","name":"n","args":{"big":18446744073709551615,"neg":-3,"f":2.5e3,"huge":1e300}}`), frame.ProtoJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"big": uint64(18446744073709551615), "neg": int64(-3), "f": 2500.0, "huge": 1e300}
	if !deepEqual(m.Args, want) {
		t.Fatalf("args %#v, want %#v", m.Args, want)
	}
}

func TestDecodeClientBadInputs(t *testing.T) {
	type bad struct {
		name string
		in   []byte
		p    frame.Proto
		lim  *frame.Limits
		want error
		msg  string
	}
	js := func(name, in string, want error, msg string) bad {
		return bad{name: name, in: []byte(in), p: frame.ProtoJSON, want: want, msg: msg}
	}
	cb := func(name string, in []byte, want error, msg string) bad {
		return bad{name: "cbor " + name, in: in, p: frame.ProtoCBOR, want: want, msg: msg}
	}
	members := make([]string, 1100)
	for i := range members {
		members[i] = fmt.Sprintf(`"k%d":1`, i)
	}
	tests := []bad{
		js("empty", "", frame.ErrUndecodable, "empty"),
		js("not json", "hello", frame.ErrUndecodable, "not JSON"),
		js("truncated", `{"op":"sub","id":1`, frame.ErrUndecodable, "not JSON"),
		js("trailing", `{"op":"ping"} x`, frame.ErrUndecodable, "not JSON"),
		js("two objects", `{"op":"ping"}{"op":"ping"}`, frame.ErrUndecodable, "data after the value"),
		js("not utf-8", "{\"op\":\"auth\",\"token\":\"\xff\"}", frame.ErrUndecodable, "UTF-8"),
		js("array", `[1]`, frame.ErrInvalid, "want object, got array"),
		js("no op", `{"id":1}`, frame.ErrInvalid, `missing required field "op"`),
		js("op number", `{"op":5}`, frame.ErrInvalid, `field "op": want text, got number`),
		js("unknown op", `{"op":"nope","id":1}`, frame.ErrInvalid, `unknown op "nope"`),
		js("duplicate", `{"op":"ping","op":"auth"}`, frame.ErrInvalid, `duplicate member "op"`),
		js("id negative", `{"op":"ping","id":-1}`, frame.ErrInvalid, `ping: field "id": want uint, got number`),
		js("id float", `{"op":"ping","id":1.5}`, frame.ErrInvalid, `field "id": want uint`),
		js("id text", `{"op":"ping","id":"1"}`, frame.ErrInvalid, `field "id": want uint, got text`),
		js("id 1e400", `{"op":"ping","id":1e400}`, frame.ErrInvalid, "number 1e400 out of range"),
		{name: "100k digits", in: []byte(`{"op":"ping","id":` + strings.Repeat("9", 100000) + `}`), p: frame.ProtoJSON,
			lim: &frame.Limits{MaxMessageBytes: 1 << 20}, want: frame.ErrInvalid, msg: "out of range"},
		js("auth no token", `{"op":"auth","id":0}`, frame.ErrInvalid, `auth: missing required field "token"`),
		js("auth empty token", `{"op":"auth","id":0,"token":""}`, frame.ErrInvalid, `auth: field "token" is empty`),
		js("sub no ch", `{"op":"sub","id":1}`, frame.ErrInvalid, `sub: missing required field "ch"`),
		js("sub bad ch", `{"op":"sub","id":1,"ch":"dev/a b"}`, frame.ErrInvalid, `sub: field "ch": "dev/a b" is not a channel`),
		js("sub empty dev", `{"op":"sub","id":1,"ch":"dev/"}`, frame.ErrInvalid, `is not a channel`),
		js("sub other ch", `{"op":"sub","id":1,"ch":"admin"}`, frame.ErrInvalid, `is not a channel`),
		js("sub long id", `{"op":"sub","id":1,"ch":"dev/`+strings.Repeat("a", 65)+`"}`, frame.ErrInvalid, `is not a channel`),
		js("since text", `{"op":"sub","id":1,"ch":"dev/a","since":"x"}`, frame.ErrInvalid, `field "since": want object, got text`),
		js("since no epoch", `{"op":"sub","id":1,"ch":"dev/a","since":{"off":1}}`, frame.ErrInvalid, `field "since": missing required field "epoch"`),
		js("since off negative", `{"op":"sub","id":1,"ch":"dev/a","since":{"epoch":"e","off":-1}}`, frame.ErrInvalid, `field "since": field "off": want uint`),
		js("history text", `{"op":"sub","id":1,"ch":"dev/a","history":"3"}`, frame.ErrInvalid, `field "history": want uint, got text`),
		js("history negative", `{"op":"sub","id":1,"ch":"dev/a","history":-3}`, frame.ErrInvalid, `field "history": want uint`),
		js("sensors text", `{"op":"sub","id":1,"ch":"dev/a","sensors":"t"}`, frame.ErrInvalid, `field "sensors": want array, got text`),
		js("sensors numbers", `{"op":"sub","id":1,"ch":"dev/a","sensors":["t",1]}`, frame.ErrInvalid, `field "sensors": element 1: want text, got number`),
		js("max_rate 0", `{"op":"sub","id":1,"ch":"dev/a","max_rate":0}`, frame.ErrInvalid, `field "max_rate": 0: want a number > 0`),
		js("max_rate negative", `{"op":"sub","id":1,"ch":"dev/a","max_rate":-1}`, frame.ErrInvalid, `want a number > 0`),
		js("max_rate text", `{"op":"sub","id":1,"ch":"dev/a","max_rate":"10"}`, frame.ErrInvalid, `field "max_rate": want number, got text`),
		js("minmax without max_rate", `{"op":"sub","id":1,"ch":"dev/a","minmax":true}`, frame.ErrInvalid, `sub: field "minmax": only with max_rate`),
		js("minmax text", `{"op":"sub","id":1,"ch":"dev/a","max_rate":1,"minmax":"true"}`, frame.ErrInvalid, `field "minmax": want bool, got text`),
		js("minmax number", `{"op":"sub","id":1,"ch":"dev/a","max_rate":1,"minmax":1}`, frame.ErrInvalid, `field "minmax": want bool, got number`),
		js("unsub no ch", `{"op":"unsub","id":2}`, frame.ErrInvalid, `unsub: missing required field "ch"`),
		js("cmd no device", `{"op":"cmd","id":4,"name":"n"}`, frame.ErrInvalid, `cmd: missing required field "device"`),
		js("cmd bad device", `{"op":"cmd","id":4,"device":"a/b","name":"n"}`, frame.ErrInvalid, `cmd: field "device": "a/b" does not match`),
		js("cmd no name", `{"op":"cmd","id":4,"device":"a"}`, frame.ErrInvalid, `cmd: missing required field "name"`),
		js("cmd args array", `{"op":"cmd","id":4,"device":"a","name":"n","args":[1]}`, frame.ErrInvalid, `field "args": want object, got array`),
		js("deep", strings.Repeat("[", 60000), frame.ErrTooLarge, "nesting deeper than 16"),
		js("deep args", `{"op":"cmd","device":"a","name":"n","args":{"a":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`}}`, frame.ErrTooLarge, "nesting deeper than 16"),
		js("many members", `{"op":"ping",`+strings.Join(members, ",")+`}`, frame.ErrTooLarge, "more than 1024 members"),
		js("over 64 KiB", `{"op":"ping","pad":"`+strings.Repeat("x", 64<<10)+`"}`, frame.ErrTooLarge, "limit 65536"),
		{name: "huge array", in: []byte(`{"op":"sub","id":1,"ch":"dev/a","sensors":[` + strings.Repeat(`"t",`, 70000) + `"t"]}`), p: frame.ProtoJSON,
			lim: &frame.Limits{MaxMessageBytes: 1 << 20}, want: frame.ErrTooLarge, msg: "more than 65536 elements"},
		cb("not cbor", []byte{0xff}, frame.ErrUndecodable, "break"),
		cb("truncated", mustHex(t, "a2 626f70 6470696e"), frame.ErrUndecodable, "truncated"),
		cb("array", mustCBOR(t, []any{1}), frame.ErrInvalid, "want object, got array"),
		cb("int keys", mustCBOR(t, map[int]any{1: 2}), frame.ErrInvalid, ""),
		cb("indefinite", mustHex(t, "bf 626f70 6470696e67 ff"), frame.ErrInvalid, "indefinite-length map not allowed"),
		cb("duplicate", mustHex(t, "a2 626f70 6470696e67 626f70 6470696e67"), frame.ErrInvalid, "duplicate"),
		cb("unknown op", mustCBOR(t, map[string]any{"op": "nope"}), frame.ErrInvalid, `unknown op "nope"`),
		cb("id negative", mustCBOR(t, map[string]any{"op": "ping", "id": -1}), frame.ErrInvalid, `field "id": want uint, got number`),
		cb("id float", mustCBOR(t, map[string]any{"op": "ping", "id": 1.0}), frame.ErrInvalid, `field "id": want uint, got number`),
		cb("bad ch", mustCBOR(t, map[string]any{"op": "sub", "id": 1, "ch": "dev/"}), frame.ErrInvalid, "is not a channel"),
		cb("max_rate NaN", mustHex(t, "a4 626f70 63737562 626368 656465762f61 626964 01 686d61785f72617465 f97e00"), frame.ErrInvalid, ""),
		cb("minmax without max_rate", mustCBOR(t, map[string]any{"op": "sub", "id": 1, "ch": "dev/a", "minmax": true}), frame.ErrInvalid, `field "minmax": only with max_rate`),
		cb("minmax int", mustCBOR(t, map[string]any{"op": "sub", "id": 1, "ch": "dev/a", "max_rate": 1, "minmax": 1}), frame.ErrInvalid, `field "minmax": want bool, got number`),
		cb("two items", append(mustCBOR(t, map[string]any{"op": "ping"}), mustCBOR(t, map[string]any{"op": "ping"})...), frame.ErrUndecodable, "one per WebSocket message"),
		cb("deep", mustCBOR(t, map[string]any{"op": "cmd", "device": "a", "name": "n", "args": map[string]any{"a": nested(20)}}), frame.ErrTooLarge, "nesting deeper than 16"),
		cb("huge array head", mustHex(t, "a2 626f70 63737562 6773656e736f7273 9a000186a0"), frame.ErrTooLarge, "array of 100000 elements"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := frame.DecodeClient(tt.in, tt.p, tt.lim)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", m)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %v", err, tt.want)
			}
			for _, other := range []error{frame.ErrInvalid, frame.ErrTooLarge, frame.ErrUndecodable} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %q also wraps %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "frame: ") {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestDecodeServerBadInputs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		msg  string
	}{
		{"empty", "", frame.ErrUndecodable, "empty"},
		{"blank lines", "\n\n", frame.ErrUndecodable, "empty"},
		{"unknown op", `{"op":"nope"}`, frame.ErrInvalid, `unknown op "nope"`},
		{"frame no samples", `{"op":"frame","ch":"dev/a","off":1,"device":"a","seq":1,"t0":0}`, frame.ErrInvalid, `frame: missing required field "samples"`},
		{"frame bad sample", `{"op":"frame","ch":"dev/a","off":1,"device":"a","seq":1,"t0":0,"samples":[["t",0,"x"]]}`, frame.ErrInvalid, `sample 0: value: want number or bool`},
		{"second bad", "{\"op\":\"pong\",\"id\":1}\n{\"op\":\"pong\"}", frame.ErrInvalid, `item 2 of the batch: pong: missing required field "id"`},
		{"t0 out of range", `{"op":"frame","ch":"dev/a","off":1,"device":"a","seq":1,"t0":1e300,"samples":[]}`, frame.ErrInvalid, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := frame.DecodeServer([]byte(tt.in), frame.ProtoJSON, nil)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Errorf("error %v, want %v saying %q", err, tt.want, tt.msg)
			}
		})
	}
}
