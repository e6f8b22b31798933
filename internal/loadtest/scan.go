package loadtest

import (
	"bytes"
	"math"
	"strconv"
)

// A dashboard of the load tool needs three fields of each frame: ch, off
// and t0. Decoding the whole message (every sample) costs the generator far
// more CPU than the hub spends encoding it once for all subscribers, and
// on a small machine that CPU is taken from the hub under test. So JSON
// frames are scanned for those fields; anything the scan does not
// recognise goes through frame.DecodeServer (Config.FullDecode forces that
// for every message).

var (
	framePrefix = []byte(`{"op":"frame",`)
	keyCh       = []byte(`"ch":"`)
	keyOff      = []byte(`"off":`)
	keyT0       = []byte(`"t0":`)
	keySamples  = []byte(`"samples":`)
)

// scannedFrame is what the scan takes from one frame.
type scannedFrame struct {
	ch  []byte // aliases the message
	off uint64
	t0  int64 // unix ns
}

// scanJSONFrame reads ch, off and t0 of one JSON frame message (one line of
// a batch) as the hub writes it (PROTOCOL.md, "Dashboard link": op first,
// the header fields before samples). ok is false for any other message, or
// a frame the scan cannot read; the caller decodes those fully.
func scanJSONFrame(line []byte) (f scannedFrame, ok bool) {
	if !bytes.HasPrefix(line, framePrefix) {
		return f, false
	}
	head := line[len(framePrefix):]
	if i := bytes.Index(head, keySamples); i >= 0 {
		head = head[:i]
	}
	i := bytes.Index(head, keyCh)
	if i < 0 {
		return f, false
	}
	ch := head[i+len(keyCh):]
	j := bytes.IndexByte(ch, '"')
	if j < 0 || bytes.IndexByte(ch[:j], '\\') >= 0 {
		return f, false
	}
	f.ch = ch[:j]
	offText, ok := number(head, keyOff)
	if !ok {
		return f, false
	}
	off, err := strconv.ParseUint(string(offText), 10, 64)
	if err != nil {
		return f, false
	}
	t0Text, ok := number(head, keyT0)
	if !ok {
		return f, false
	}
	t0ms, err := strconv.ParseFloat(string(t0Text), 64)
	if err != nil || math.IsNaN(t0ms) || math.IsInf(t0ms, 0) {
		return f, false
	}
	// µs precision on the wire (PROTOCOL.md, "Times"), as the decoder reads it.
	f.off, f.t0 = off, int64(math.Round(t0ms*1e3))*1e3
	return f, true
}

// number returns the JSON number text that follows key in b.
func number(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	b = b[i+len(key):]
	n := 0
	for n < len(b) && (b[n] >= '0' && b[n] <= '9' || b[n] == '.' || b[n] == '-' || b[n] == '+' || b[n] == 'e' || b[n] == 'E') {
		n++
	}
	return b[:n], n > 0
}
