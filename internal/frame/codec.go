package frame

// This file lists the codec entry points. Bodies are filled in by agent.go,
// dashboard_codec.go and stored.go.

// AppendAgent appends the CBOR encoding of m (one agent-link map) to dst.
// Float sample values are encoded in the shortest CBOR float (16, 32 or 64
// bit) within half their resolution of the rounded value.
func AppendAgent(dst []byte, m Message) ([]byte, error) { return appendAgent(dst, m) }

// DecodeAgent decodes one agent-link WebSocket message: one CBOR map or a
// CBOR sequence of them (RFC 8742). lim may be nil.
func DecodeAgent(b []byte, lim *Limits) ([]Message, error) { return decodeAgent(b, lim) }

// DecodeClient decodes and validates one client → hub dashboard message.
func DecodeClient(b []byte, p Proto, lim *Limits) (ClientMessage, error) {
	return decodeClient(b, p, lim)
}

// AppendServer appends one hub → client message in encoding p to dst. For a
// batch, callers append several: JSON messages are separated by '\n' (the
// caller adds it), CBOR items simply follow each other.
func AppendServer(dst []byte, m ServerMessage, p Proto) ([]byte, error) {
	return appendServer(dst, m, p)
}

// DecodeServer decodes a hub → client WebSocket message (a batch) into its
// messages, in order. It is what clients (tests, the load tool) use.
func DecodeServer(b []byte, p Proto, lim *Limits) ([]ServerMessage, error) {
	return decodeServer(b, p, lim)
}

// AppendClient appends one client → hub message in encoding p to dst.
func AppendClient(dst []byte, m *ClientMessage, p Proto) ([]byte, error) {
	return appendClient(dst, m, p)
}

// AppendStored appends the backplane form of s to dst.
func AppendStored(dst []byte, s *Stored) ([]byte, error) { return appendStored(dst, s) }

// DecodeStored decodes the backplane form of a frame.
func DecodeStored(b []byte) (*Stored, error) { return decodeStored(b) }
