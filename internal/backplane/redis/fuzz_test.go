package redis

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// FuzzParseNotification: the pub/sub payload "<offset> <epoch> <data>"
// written by broker_publish.lua. No panic; what parses re-encodes to the
// same bytes.
func FuzzParseNotification(f *testing.F) {
	f.Add("1 5f3c9a0d2e4b6a71 payload")
	f.Add("42 e data with spaces")
	f.Add("7 e ")
	f.Add("x e d")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		off, epoch, data, ok := parseNotification(s)
		if !ok {
			return
		}
		again := strconv.FormatUint(off, 10) + " " + epoch + " " + string(data)
		if off2, epoch2, data2, ok2 := parseNotification(again); !ok2 || off2 != off || epoch2 != epoch || !bytes.Equal(data2, data) {
			t.Fatalf("%q parsed as %d %q %q, which does not round trip", s, off, epoch, data)
		}
	})
}

// FuzzDecodeDevice: presence values ("1" or "0", then JSON). No panic;
// what decodes re-encodes and decodes to the same state.
func FuzzDecodeDevice(f *testing.F) {
	v, _, _ := encodeDevice(backplane.DeviceState{
		ID: "pi-7", Online: true, Hub: "hub-a", Region: "eu", Labels: map[string]string{"site": "berlin"},
		Sensors:      []frame.SensorInfo{{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01}},
		AgentVersion: "1.0.0", LastSeen: time.Unix(0, 1733318400123456000),
	})
	f.Add(v)
	f.Add(`0{"id":"pi-1"}`)
	f.Add(`1{}`)
	f.Add(`2{"id":"x"}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decodeDevice(s)
		if err != nil {
			return
		}
		v, _, err := encodeDevice(d)
		if err != nil {
			t.Fatalf("decoded %q to %+v, which does not encode: %v", s, d, err)
		}
		d2, err := decodeDevice(v)
		if err != nil || !sameState(d, d2) {
			t.Fatalf("%q: %+v re-decoded as %+v (%v)", s, d, d2, err)
		}
	})
}

func sameState(a, b backplane.DeviceState) bool {
	va, ca, _ := encodeDevice(a)
	vb, cb, _ := encodeDevice(b)
	return va == vb && ca == cb
}
