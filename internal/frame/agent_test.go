package frame_test

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/fxamacker/cbor/v2"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func agentMessages() map[string]frame.Message {
	return map[string]frame.Message{
		"hello": &frame.Hello{
			DeviceID:     "pi-7",
			AgentVersion: "1.2.0",
			Sensors: []frame.SensorInfo{
				{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01},
				{ID: "door", Kind: "contact"},
			},
			Labels:   map[string]string{"site": "berlin", "floor": "2"},
			FirstSeq: 1201,
			SpoolID:  "5f2c9a1e",
		},
		"hello minimal": &frame.Hello{DeviceID: "pi-7", FirstSeq: 1, SpoolID: "s"},
		"welcome":       &frame.Welcome{HubID: "hub-a", Region: "eu", AckedSeq: 1200},
		"welcome none":  &frame.Welcome{HubID: "hub-a", Region: "eu"},
		"frame": &frame.Frame{Seq: 1234, T0: 1733318400123456000, Samples: []frame.Sample{
			{Sensor: "t", DT: 0, Value: frame.Rounded(21.5, 0.01)},
			{Sensor: "rh", DT: 1500, Value: frame.Rounded(45.3, 0.1)},
			{Sensor: "door", DT: 2000, Value: frame.Bool(true)},
			{Sensor: "n", DT: 2500, Value: frame.Int(-42)},
		}},
		"frame realistic":  realisticFrame(10),
		"frame empty":      &frame.Frame{Seq: 1, T0: -5, Samples: []frame.Sample{}},
		"ack":              &frame.Ack{Seq: 1234},
		"command":          &frame.Command{ID: "c-17", Name: "gpio.write", Args: map[string]any{"pin": "relay1", "level": true, "ms": uint64(250), "tags": []any{"a", int64(-1)}, "opt": map[string]any{"x": 1.5}}},
		"command bare":     &frame.Command{ID: "c-18", Name: "reboot"},
		"result":           &frame.Result{ID: "c-17", OK: true, Result: map[string]any{"level": true}},
		"result no value":  &frame.Result{ID: "c-17", OK: true},
		"result bytes":     &frame.Result{ID: "c-17", OK: true, Result: map[string]any{"raw": []byte{1, 2, 3}}},
		"result error":     &frame.Result{ID: "c-17", Error: "no such pin"},
		"result error0":    &frame.Result{ID: "c-17"},
		"error":            &frame.Error{Code: 403, Message: "device id does not match the token"},
		"frame irregular":  irregularFrame(),
		"frame duplicates": &frame.Frame{Seq: 2, Samples: []frame.Sample{{Sensor: "a", DT: 5, Value: frame.Int(1)}, {Sensor: "a", DT: 5, Value: frame.Int(2)}, {Sensor: "a", DT: 10, Value: frame.Int(3)}}},
	}
}

// irregularFrame has jittered sample times, so no sensor forms a series.
func irregularFrame() *frame.Frame {
	f := realisticFrame(10)
	for i := range f.Samples {
		f.Samples[i].DT += uint64(i*i%7) * 13
	}
	return f
}

// checkAgent compares a decoded message with the one sent.
func checkAgent(t *testing.T, sent, got frame.Message) {
	t.Helper()
	if sf, ok := sent.(*frame.Frame); ok {
		gf, ok := got.(*frame.Frame)
		if !ok {
			t.Fatalf("got %T, want *frame.Frame", got)
		}
		if gf.Seq != sf.Seq || gf.T0 != sf.T0 {
			t.Fatalf("got seq %d t0 %d, want %d %d", gf.Seq, gf.T0, sf.Seq, sf.T0)
		}
		want := append([]frame.Sample(nil), sf.Samples...)
		frame.SortSamples(want)
		sameSamples(t, want, gf.Samples)
		return
	}
	if !deepEqual(sent, got) {
		t.Fatalf("got %#v\nwant %#v", got, sent)
	}
}

func TestAgentRoundTrip(t *testing.T) {
	for name, m := range agentMessages() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := frame.AppendAgent(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := frame.AppendAgent([]byte{0xaa}, m)
			if !bytes.Equal(again[1:], b) {
				t.Fatal("encoding is not deterministic or does not append")
			}
			if err := cbor.Wellformed(b); err != nil {
				t.Fatalf("not well-formed CBOR: %v", err)
			}
			ms, err := frame.DecodeAgent(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Kind() != m.Kind() {
				t.Fatalf("decoded %d messages, first %v", len(ms), ms)
			}
			checkAgent(t, m, ms[0])
			// Decoded messages share no memory with the input: the hub
			// reuses its read buffer for the next message.
			for i := range b {
				b[i] = 0xff
			}
			checkAgent(t, m, ms[0])
		})
	}
}

// TestAgentSequence: several maps in one message (RFC 8742) decode in order.
func TestAgentSequence(t *testing.T) {
	var b []byte
	var sent []frame.Message
	for seq := uint64(1); seq <= 5; seq++ {
		f := realisticFrame(3)
		f.Seq = seq
		var err error
		if b, err = frame.AppendAgent(b, f); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, f)
	}
	b, _ = frame.AppendAgent(b, &frame.Ack{Seq: 3})
	sent = append(sent, &frame.Ack{Seq: 3})
	ms, err := frame.DecodeAgent(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(sent) {
		t.Fatalf("got %d messages, want %d", len(ms), len(sent))
	}
	for i := range sent {
		checkAgent(t, sent[i], ms[i])
	}
}

// TestAgentKeyOrder: maps are unordered; kind need not come first, and
// unknown keys (of any type of value) are skipped.
func TestAgentKeyOrder(t *testing.T) {
	tests := map[string]struct {
		hex  string
		want frame.Message
	}{
		"kind last":   {"a2" + "01" + "1904d2" + "00" + "04", &frame.Ack{Seq: 1234}},
		"unknown key": {"a3" + "00" + "04" + "01" + "05" + "1863" + "a1016178", &frame.Ack{Seq: 5}},
		"unknown tag": {"a3" + "00" + "04" + "18ff" + "c11a5f5e1000" + "01" + "05", &frame.Ack{Seq: 5}},
		"frame series first": {"a5" + "04" + "81" + "846174" + "00" + "0a" + "82" + "01" + "02" + "0101" + "0200" +
			"03" + "81" + "83" + "6162" + "05" + "f5" + "0003", &frame.Frame{Seq: 1, Samples: []frame.Sample{
			{Sensor: "t", DT: 0, Value: frame.Int(1)}, {Sensor: "b", DT: 5, Value: frame.Bool(true)}, {Sensor: "t", DT: 10, Value: frame.Int(2)}}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := frame.DecodeAgent(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkAgent(t, tt.want, ms[0])
		})
	}
}

// TestFrameSampleOrder pins the order decoders return samples in: by dt,
// then sensor id, equal pairs in message order.
func TestFrameSampleOrder(t *testing.T) {
	f := &frame.Frame{Seq: 1, Samples: []frame.Sample{
		{Sensor: "b", DT: 20, Value: frame.Int(1)},
		{Sensor: "a", DT: 20, Value: frame.Int(2)},
		{Sensor: "t", DT: 0, Value: frame.Int(3)},
		{Sensor: "t", DT: 10, Value: frame.Int(4)},
		{Sensor: "t", DT: 20, Value: frame.Int(5)},
		{Sensor: "x", DT: 7, Value: frame.Int(6)},
		{Sensor: "x", DT: 7, Value: frame.Int(7)},
	}}
	b, err := frame.AppendAgent(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := frame.DecodeAgent(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, s := range ms[0].(*frame.Frame).Samples {
		got = append(got, s.Value.Int64())
	}
	want := []int64{3, 6, 7, 4, 2, 1, 5}
	if !deepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// TestFrameSize is the size budget of PROTOCOL.md "Samples and series": a
// realistic frame of 10 sensors x 10 samples costs at most 8 bytes a sample.
func TestFrameSize(t *testing.T) {
	const n = 10
	f := realisticFrame(n)
	samples := len(f.Samples)
	b, err := frame.AppendAgent(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	irr, err := frame.AppendAgent(nil, irregularFrame())
	if err != nil {
		t.Fatal(err)
	}
	js, err := frame.AppendServer(nil, &frame.DashFrame{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: f.Seq, T0: f.T0, Samples: f.Samples}, frame.ProtoJSON)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := frame.AppendServer(nil, &frame.DashFrame{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: f.Seq, T0: f.T0, Samples: f.Samples}, frame.ProtoCBOR)
	if err != nil {
		t.Fatal(err)
	}
	per := func(b []byte) float64 { return float64(len(b)) / float64(samples) }
	t.Logf("%d samples: agent CBOR FRAME %d bytes = %.2f bytes/sample (series)", samples, len(b), per(b))
	t.Logf("%d samples: agent CBOR FRAME %d bytes = %.2f bytes/sample (irregular times, no series)", samples, len(irr), per(irr))
	t.Logf("%d samples: dashboard JSON frame %d bytes = %.2f bytes/sample", samples, len(js), per(js))
	t.Logf("%d samples: dashboard CBOR frame %d bytes = %.2f bytes/sample", samples, len(dc), per(dc))
	if per(b) > 8 {
		t.Errorf("agent FRAME costs %.2f bytes/sample, budget 8", per(b))
	}
}

func TestAgentEncodeRefusesInvalid(t *testing.T) {
	for name, m := range map[string]frame.Message{
		"bad device":   &frame.Hello{DeviceID: "pi 7", FirstSeq: 1, SpoolID: "s"},
		"first_seq 0":  &frame.Hello{DeviceID: "pi-7", SpoolID: "s"},
		"no spool":     &frame.Hello{DeviceID: "pi-7", FirstSeq: 1},
		"seq 0":        &frame.Frame{},
		"NaN":          &frame.Frame{Seq: 1, Samples: []frame.Sample{{Sensor: "t", Value: frame.Float(nan())}}},
		"nil":          nil,
		"args channel": &frame.Command{ID: "c", Name: "n", Args: map[string]any{"c": make(chan int)}},
	} {
		if b, err := frame.AppendAgent([]byte{1}, m); err == nil || len(b) != 1 {
			t.Errorf("%s: AppendAgent = %x, %v; want an error and dst unchanged", name, b, err)
		}
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nested(depth int) any {
	var v any = "x"
	for range depth {
		v = []any{v}
	}
	return v
}

func TestDecodeAgentBadInputs(t *testing.T) {
	frameBytes, _ := frame.AppendAgent(nil, realisticFrame(10))
	bigArgs := map[string]any{}
	for i := range 1100 {
		bigArgs[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))] = true
	}
	tests := []struct {
		name string
		in   []byte
		lim  *frame.Limits
		want error
		msg  string // substring of the error text
	}{
		{"empty", nil, nil, frame.ErrUndecodable, "empty"},
		{"text", []byte("hello, hub"), nil, frame.ErrUndecodable, "truncated"},
		{"break", []byte{0xff}, nil, frame.ErrUndecodable, "break"},
		{"reserved", []byte{0x1c}, nil, frame.ErrUndecodable, "reserved"},
		{"truncated frame", frameBytes[:len(frameBytes)-3], nil, frame.ErrUndecodable, "truncated"},
		{"truncated head", []byte{0xa2, 0x00, 0x19, 0x01}, nil, frame.ErrUndecodable, "truncated"},
		{"array", mustCBOR(t, []any{3}), nil, frame.ErrInvalid, "message: want map, got array"},
		{"no kind", mustCBOR(t, map[int]any{1: 5}), nil, frame.ErrInvalid, "missing required key 0 (kind)"},
		{"empty map", []byte{0xa0}, nil, frame.ErrInvalid, "missing required key 0 (kind)"},
		{"unknown kind", mustCBOR(t, map[int]any{0: 9}), nil, frame.ErrInvalid, "unknown kind 9"},
		{"kind text", mustCBOR(t, map[int]any{0: "FRAME"}), nil, frame.ErrInvalid, "key 0 (kind): want uint, got text"},
		{"text key", mustCBOR(t, map[any]any{0: 4, "seq": 1}), nil, frame.ErrInvalid, "map key: want uint, got text"},
		{"frame no samples", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0}), nil, frame.ErrInvalid, "frame: FRAME: missing required key 3 (samples)"},
		{"frame no t0", mustCBOR(t, map[int]any{0: 3, 1: 1, 3: []any{}}), nil, frame.ErrInvalid, "FRAME: missing required key 2 (t0)"},
		{"frame seq text", mustCBOR(t, map[int]any{0: 3, 1: "1", 2: 0, 3: []any{}}), nil, frame.ErrInvalid, "FRAME: key 1 (seq): want uint, got text"},
		{"frame seq 0", mustCBOR(t, map[int]any{0: 3, 1: 0, 2: 0, 3: []any{}}), nil, frame.ErrInvalid, "FRAME: key 1 (seq): seq is 0"},
		{"frame t0 float", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 1.5, 3: []any{}}), nil, frame.ErrInvalid, "FRAME: key 2 (t0): want int, got float"},
		{"frame samples map", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: map[int]int{}}), nil, frame.ErrInvalid, "key 3 (samples): want array, got map"},
		{"sample short", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{[]any{"t", 0}}}), nil, frame.ErrInvalid, "key 3 (samples): sample 0: want [sensor, dt, value], got 2 elements"},
		{"sample dt negative", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{[]any{"t", -1, 1}}}), nil, frame.ErrInvalid, "sample 0: dt: want uint, got negative int"},
		{"sample value text", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{[]any{"t", 0, "21.5"}}}), nil, frame.ErrInvalid, "sample 0: value: want number or bool, got text"},
		{"sample value null", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{[]any{"t", 0, nil}}}), nil, frame.ErrInvalid, "want number or bool, got null"},
		{"sample value NaN", mustHex(t, "a4 0003 0101 0200 03 81 83 6174 00 f97e00"), nil, frame.ErrInvalid, "want a finite number"},
		{"sample value huge uint", mustHex(t, "a4 0003 0101 0200 03 81 83 6174 00 1bffffffffffffffff"), nil, frame.ErrInvalid, "integer out of range"},
		{"sensor not UTF-8", mustHex(t, "a4 0003 0101 0200 03 81 83 61ff 00 01"), nil, frame.ErrInvalid, "not valid UTF-8"},
		{"series short", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{}, 4: []any{[]any{"t", 0, []any{1}}}}), nil, frame.ErrInvalid, "key 4 (series): series 0: want [sensor, dt0, step, values]"},
		{"series overflow", mustCBOR(t, map[int]any{0: 3, 1: 1, 2: 0, 3: []any{}, 4: []any{[]any{"t", uint64(1) << 63, uint64(1) << 62, []any{1, 2, 3}}}}), nil, frame.ErrInvalid, "overflows"},
		{"duplicate key", mustHex(t, "a3 0004 0101 0102"), nil, frame.ErrInvalid, "duplicate key 1"},
		{"duplicate label", mustHex(t, "a5 0001 0164 70692d37 0501 066173 04 a2 6161 6162 6161 6163"), nil, frame.ErrInvalid, `HELLO: key 4 (labels): duplicate key "a"`},
		{"indefinite map", mustHex(t, "bf 0004 0101 ff"), nil, frame.ErrInvalid, "indefinite-length map not allowed"},
		{"hello bad device", mustCBOR(t, map[int]any{0: 1, 1: "pi 7", 5: 1, 6: "s"}), nil, frame.ErrInvalid, `HELLO: key 1 (device): device id "pi 7" does not match`},
		{"hello no spool", mustCBOR(t, map[int]any{0: 1, 1: "pi-7", 5: 1}), nil, frame.ErrInvalid, "HELLO: missing required key 6 (spool id)"},
		{"hello no first_seq", mustCBOR(t, map[int]any{0: 1, 1: "pi-7", 6: "s"}), nil, frame.ErrInvalid, "HELLO: missing required key 5 (first_seq)"},
		{"hello sensor no id", mustCBOR(t, map[int]any{0: 1, 1: "pi-7", 3: []any{map[int]any{2: "temperature"}}, 5: 1, 6: "s"}), nil, frame.ErrInvalid, "HELLO: key 3 (sensors): sensor 0: missing required key 1 (id)"},
		{"hello resolution text", mustCBOR(t, map[int]any{0: 1, 1: "pi-7", 3: []any{map[int]any{1: "t", 5: "0.01"}}, 5: 1, 6: "s"}), nil, frame.ErrInvalid, "key 5 (resolution): want number"},
		{"hello labels not text", mustCBOR(t, map[int]any{0: 1, 1: "pi-7", 4: map[string]any{"a": 1}, 5: 1, 6: "s"}), nil, frame.ErrInvalid, `key 4 (labels): value of "a": want text, got uint`},
		{"welcome no acked", mustCBOR(t, map[int]any{0: 2, 1: "hub-a", 2: "eu"}), nil, frame.ErrInvalid, "WELCOME: missing required key 3 (acked_seq)"},
		{"ack no seq", mustCBOR(t, map[int]any{0: 4}), nil, frame.ErrInvalid, "ACK: missing required key 1 (seq)"},
		{"command args array", mustCBOR(t, map[int]any{0: 5, 1: "c", 2: "n", 3: []any{}}), nil, frame.ErrInvalid, "COMMAND: key 3 (args): want map, got array"},
		{"command args int keys", mustCBOR(t, map[int]any{0: 5, 1: "c", 2: "n", 3: map[int]any{1: 2}}), nil, frame.ErrInvalid, "COMMAND: key 3 (args)"},
		{"command no name", mustCBOR(t, map[int]any{0: 5, 1: "c"}), nil, frame.ErrInvalid, "COMMAND: missing required key 2 (name)"},
		{"result no error", mustCBOR(t, map[int]any{0: 6, 1: "c", 2: false}), nil, frame.ErrInvalid, "RESULT: missing required key 4 (error): required when ok is false"},
		{"result ok int", mustCBOR(t, map[int]any{0: 6, 1: "c", 2: 1}), nil, frame.ErrInvalid, "RESULT: key 2 (ok): want bool, got uint"},
		{"error code big", mustCBOR(t, map[int]any{0: 7, 1: 70000, 2: "x"}), nil, frame.ErrInvalid, "ERROR: key 1 (code): code 70000 out of range"},
		{"second item bad", append(mustCBOR(t, map[int]any{0: 4, 1: 1}), mustCBOR(t, map[int]any{0: 4})...), nil, frame.ErrInvalid, "item 2 of the sequence: ACK: missing required key 1 (seq)"},
		{"trailing byte", append(mustCBOR(t, map[int]any{0: 4, 1: 1}), 0x00), nil, frame.ErrInvalid, "item 2 of the sequence: message: want map, got uint"},
		{"over message limit", frameBytes, &frame.Limits{MaxMessageBytes: 100}, frame.ErrTooLarge, "limit 100"},
		{"over 1 MiB", make([]byte, 1<<20+1), nil, frame.ErrTooLarge, "message of 1048577 bytes: limit 1048576"},
		{"deep args", mustCBOR(t, map[int]any{0: 5, 1: "c", 2: "n", 3: map[string]any{"a": nested(20)}}), nil, frame.ErrTooLarge, "nesting deeper than 16"},
		{"deep unknown key", mustCBOR(t, map[int]any{0: 4, 1: 1, 9: nested(30)}), nil, frame.ErrTooLarge, "nesting deeper than 16"},
		{"huge array head", mustHex(t, "a4 0003 0101 0200 03 9a000186a0"), nil, frame.ErrTooLarge, "array of 100000 elements: limit 65536"},
		{"array longer than message", mustHex(t, "a4 0003 0101 0200 03 99ffff 00"), nil, frame.ErrUndecodable, "truncated"},
		{"many map pairs", mustCBOR(t, map[int]any{0: 5, 1: "c", 2: "n", 3: bigArgs}), nil, frame.ErrTooLarge, "map of 1100 pairs: limit 1024"},
		{"series over limit", frameBytes, &frame.Limits{MaxArrayLen: 50}, frame.ErrTooLarge, "more than 50 samples"},
		{"nesting limit", frameBytes, &frame.Limits{MaxNesting: 3}, frame.ErrTooLarge, "nesting deeper than 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms, err := frame.DecodeAgent(tt.in, tt.lim)
			if err == nil {
				t.Fatalf("decoded %v, want an error", ms)
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

// TestResultIgnoresTheOtherKey: ok decides which of result and error counts.
func TestResultIgnoresTheOtherKey(t *testing.T) {
	for _, tt := range []struct {
		in   map[int]any
		want *frame.Result
	}{
		{map[int]any{0: 6, 1: "c", 2: true, 3: "done", 4: "stale"}, &frame.Result{ID: "c", OK: true, Result: "done"}},
		{map[int]any{0: 6, 1: "c", 2: false, 3: "done", 4: "failed"}, &frame.Result{ID: "c", Error: "failed"}},
	} {
		ms, err := frame.DecodeAgent(mustCBOR(t, tt.in), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !deepEqual(ms[0], tt.want) {
			t.Errorf("got %#v, want %#v", ms[0], tt.want)
		}
	}
}

// TestFrameOrderRandom: whatever mix of series and single samples a frame
// becomes, decoding returns the stable sort by (dt, sensor id).
func TestFrameOrderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 500; i++ {
		f := &frame.Frame{Seq: 1}
		sensors := 1 + r.IntN(40)
		for k := 0; k < sensors; k++ {
			id := string(rune('a' + r.IntN(26)))
			n, dt0, step := r.IntN(6), uint64(r.IntN(4)), uint64(r.IntN(3))
			for j := 0; j < n; j++ {
				dt := dt0 + uint64(j)*step
				if r.IntN(4) == 0 {
					dt = uint64(r.IntN(10))
				}
				f.Samples = append(f.Samples, frame.Sample{Sensor: id, DT: dt, Value: frame.Int(int64(len(f.Samples)))})
			}
		}
		r.Shuffle(len(f.Samples), func(a, b int) { f.Samples[a], f.Samples[b] = f.Samples[b], f.Samples[a] })
		b, err := frame.AppendAgent(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := frame.DecodeAgent(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := append([]frame.Sample{}, f.Samples...)
		slices.SortStableFunc(want, func(a, b frame.Sample) int {
			if a.DT != b.DT {
				return cmp.Compare(a.DT, b.DT)
			}
			return strings.Compare(a.Sensor, b.Sensor)
		})
		if got := ms[0].(*frame.Frame).Samples; !deepEqual(got, want) {
			t.Fatalf("frame %d:\ngot  %v\nwant %v", i, got, want)
		}
	}
}

// TestAgentDecoder: a decoder kept across messages decodes each like
// DecodeAgent, also past the size of its sensor id table.
func TestAgentDecoder(t *testing.T) {
	d := frame.NewAgentDecoder(nil)
	var inputs [][]byte
	for _, m := range agentMessages() {
		b, err := frame.AppendAgent(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	for k := range 3 {
		f := &frame.Frame{Seq: uint64(k + 1), T0: 1}
		for i := range 1500 {
			f.Samples = append(f.Samples, frame.Sample{Sensor: fmt.Sprintf("k%d-s%d", k, i), DT: uint64(i), Value: frame.Int(int64(i))})
		}
		b, err := frame.AppendAgent(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	for round := range 2 {
		for i, b := range inputs {
			want, err := frame.DecodeAgent(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Decode(b)
			if err != nil {
				t.Fatalf("round %d, message %d: %v", round, i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, message %d: %#v, want %#v", round, i, got, want)
			}
		}
	}
	if n := d.Interned(); n > 16+frame.MaxInterned {
		t.Fatalf("%d sensor ids kept, over the bound of %d", n, 16+frame.MaxInterned)
	}

	// Frames naming the same sensors share the strings.
	b, err := frame.AppendAgent(nil, &frame.Frame{Seq: 1, T0: 1, Samples: []frame.Sample{{Sensor: "temperature", Value: frame.Int(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	sensor := func() *byte {
		ms, err := d.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return unsafe.StringData(ms[0].(*frame.Frame).Samples[0].Sensor)
	}
	if first, second := sensor(), sensor(); first != second {
		t.Fatal("the same sensor id in two messages was allocated twice")
	}
}
