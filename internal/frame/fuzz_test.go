package frame_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// Fuzz targets, one per decoder. Seeds are the examples of PROTOCOL.md (the
// golden vectors) and the messages of the round-trip tables. The property:
// no panic; every error wraps exactly one sentinel; what decodes re-encodes,
// and the re-encoding decodes to the same value.

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range []error{frame.ErrInvalid, frame.ErrTooLarge, frame.ErrUndecodable} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q wraps %d sentinels", err, n)
	}
}

func goldenSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var b []byte
		if filepath.Ext(file) == ".json" {
			b = bytes.TrimSuffix(text, []byte("\n"))
		} else {
			b = mustHex(f, string(text))
		}
		f.Add(b)
	}
}

func FuzzDecodeAgent(f *testing.F) {
	goldenSeeds(f, "agent_*.hex")
	var seq []byte
	for _, m := range agentMessages() {
		b, err := frame.AppendAgent(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		seq = append(seq, b...)
	}
	f.Add(seq)
	f.Add(mustHex(f, "a2 01 1904d2 00 04"))
	f.Add(mustHex(f, "a4 0003 0101 0200 03 81 83 6174 00 f97e00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := frame.DecodeAgent(b, nil)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		var enc []byte
		for _, m := range ms {
			if f, ok := m.(*frame.Frame); ok {
				sorted := append([]frame.Sample{}, f.Samples...)
				frame.SortSamples(sorted)
				if !deepEqual(sorted, f.Samples) {
					t.Fatalf("samples not in order: %v", f.Samples)
				}
			}
			if enc, err = frame.AppendAgent(enc, m); err != nil {
				t.Fatalf("decoded %#v does not encode: %v", m, err)
			}
		}
		again, err := frame.DecodeAgent(enc, nil)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%x", err, enc)
		}
		if !deepEqual(ms, again) {
			t.Fatalf("round trip changed the messages:\n%#v\n%#v", ms, again)
		}
		// A link's decoder, which keeps sensor ids across messages, reads
		// the same messages, the second time too.
		d := frame.NewAgentDecoder(nil)
		for range 2 {
			if dm, err := d.Decode(b); err != nil || !deepEqual(ms, dm) {
				t.Fatalf("AgentDecoder: %v\n%#v\n%#v", err, ms, dm)
			}
		}
	})
}

func fuzzClient(f *testing.F, p frame.Proto) {
	for _, c := range clientExamples {
		b, err := frame.AppendClient(nil, &c.m, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := frame.DecodeClient(b, p, nil)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		enc, err := frame.AppendClient(nil, &m, p)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", m, err)
		}
		again, err := frame.DecodeClient(enc, p, &frame.Limits{MaxMessageBytes: 1 << 20})
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%q", err, enc)
		}
		if !deepEqual(m, again) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m, again)
		}
	})
}

func FuzzDecodeClientJSON(f *testing.F) {
	f.Add([]byte(`{"op":"sub","id":1,"ch":"dev/pi-7","since":{"epoch":"e","off":41},"history":100,"sensors":["t"],"max_rate":2.5}`))
	f.Add([]byte(`{"op":"cmd","id":4,"device":"pi-7","name":"gpio.write","args":{"a":[1,-2,3.5,null,"x",{"b":false}]}}`))
	f.Add([]byte(`{"op":"ping","id":1e400}`))
	f.Add([]byte(`{"op":"sub","id":2,"ch":"dev/pi-7","minmax":true}`))
	fuzzClient(f, frame.ProtoJSON)
}

func FuzzDecodeClientCBOR(f *testing.F) {
	goldenSeeds(f, "dash_sub_cbor.hex")
	fuzzClient(f, frame.ProtoCBOR)
}

func FuzzDecodeStored(f *testing.F) {
	goldenSeeds(f, "stored_*.hex")
	b, err := frame.AppendStored(nil, storedExample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := frame.DecodeStored(b)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		enc, err := frame.AppendStored(nil, s)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", s, err)
		}
		again, err := frame.DecodeStored(enc)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%x", err, enc)
		}
		if !deepEqual(s, again) {
			t.Fatalf("round trip changed the frame:\n%#v\n%#v", s, again)
		}
	})
}

func FuzzDecodeServer(f *testing.F) {
	for _, e := range serverExamples {
		for _, pr := range protos {
			b, err := frame.AppendServer(nil, e.m, pr.p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, pr.p == frame.ProtoCBOR)
		}
	}
	f.Add([]byte("{\"op\":\"pong\",\"id\":1}\n{\"op\":\"reset\",\"ch\":\"dev/a\",\"epoch\":\"e\"}\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, isCBOR bool) {
		p := frame.ProtoJSON
		if isCBOR {
			p = frame.ProtoCBOR
		}
		ms, err := frame.DecodeServer(b, p, nil)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		var enc []byte
		for i, m := range ms {
			if i > 0 && p == frame.ProtoJSON {
				enc = append(enc, '\n')
			}
			if enc, err = frame.AppendServer(enc, m, p); err != nil {
				t.Fatalf("decoded %#v does not encode: %v", m, err)
			}
		}
		again, err := frame.DecodeServer(enc, p, nil)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n%q", err, enc)
		}
		if len(again) != len(ms) {
			t.Fatalf("round trip: %d messages, then %d", len(ms), len(again))
		}
		for i := range ms {
			if want := normServer(ms[i]); !deepEqual(want, again[i]) {
				t.Fatalf("round trip changed message %d:\n%#v\n%#v", i, want, again[i])
			}
		}
	})
}
