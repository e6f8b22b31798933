package frame_test

import (
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func benchDashFrame() *frame.DashFrame {
	f := realisticFrame(10)
	return &frame.DashFrame{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: f.Seq, T0: f.T0, Samples: f.Samples}
}

func benchAppendServer(b *testing.B, p frame.Proto) {
	m := benchDashFrame()
	buf, err := frame.AppendServer(nil, m, p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = frame.AppendServer(buf[:0], m, p)
	}
}

// BenchmarkAppendServerFrameJSON: a 100-sample frame toward JSON dashboards,
// encoded once per frame and shared by every subscriber.
func BenchmarkAppendServerFrameJSON(b *testing.B) { benchAppendServer(b, frame.ProtoJSON) }

// BenchmarkAppendServerFrameCBOR: the same toward CBOR dashboards.
func BenchmarkAppendServerFrameCBOR(b *testing.B) { benchAppendServer(b, frame.ProtoCBOR) }

// BenchmarkDecodeAgentFrame: hub ingest of a 100-sample FRAME with series.
func BenchmarkDecodeAgentFrame(b *testing.B) {
	buf, err := frame.AppendAgent(nil, realisticFrame(10))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frame.DecodeAgent(buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendAgentFrame: the agent's side of the same frame.
func BenchmarkAppendAgentFrame(b *testing.B) {
	f := realisticFrame(10)
	buf, _ := frame.AppendAgent(nil, f)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = frame.AppendAgent(buf[:0], f)
	}
}

// BenchmarkStoredRoundTrip: what a hub does per frame between ingest and
// fan-out (encode for the backplane, decode on every hub).
func BenchmarkStoredRoundTrip(b *testing.B) {
	s := storedExample()
	buf, _ := frame.AppendStored(nil, s)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = frame.AppendStored(buf[:0], s)
		if _, err := frame.DecodeStored(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeClientJSON(b *testing.B) {
	in := []byte(`{"op":"sub","id":1,"ch":"dev/pi-7","since":{"epoch":"Kx3v","off":41},"sensors":["t","rh"],"max_rate":10}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frame.DecodeClient(in, frame.ProtoJSON, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecodeServer(b *testing.B, p frame.Proto) {
	buf, err := frame.AppendServer(nil, benchDashFrame(), p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frame.DecodeServer(buf, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeServerFrameJSON: a client (test, load tool) reading a
// 100-sample frame.
func BenchmarkDecodeServerFrameJSON(b *testing.B) { benchDecodeServer(b, frame.ProtoJSON) }

func BenchmarkDecodeServerFrameCBOR(b *testing.B) { benchDecodeServer(b, frame.ProtoCBOR) }
