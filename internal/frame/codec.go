package frame

// This file lists the codec entry points. Bodies are in agent.go (agent
// link), dashboard_encode.go and dashboard_decode.go (dashboard link) and
// stored.go (backplane payload).

// AppendAgent appends the CBOR encoding of m (one agent-link map) to dst
// (PROTOCOL.md, "Agent link"). Float sample values are encoded in the
// shortest CBOR float (16, 32 or 64 bit) within half their resolution of the
// rounded value; a FRAME's evenly spaced samples of one sensor go out as a
// series (key 4). Appending several messages makes a CBOR sequence. It
// refuses (and leaves dst as it was) what a decoder would reject: an invalid
// device id, seq or first_seq 0, a NaN or infinite value.
func AppendAgent(dst []byte, m Message) ([]byte, error) { return appendAgent(dst, m) }

// DecodeAgent decodes one agent-link WebSocket message: one CBOR map or a
// CBOR sequence of them (RFC 8742), in order. lim may be nil (1 MiB, see
// DefaultAgentLimits). Float values come back as sent (resolution 0): apply
// the sensor's resolution from HELLO with Value.WithResolution. On error no
// message is returned; the error wraps ErrUndecodable, ErrInvalid or
// ErrTooLarge and names the kind and key.
func DecodeAgent(b []byte, lim *Limits) ([]Message, error) { return decodeAgent(b, lim, nil) }

// An AgentDecoder decodes the messages of one agent link like DecodeAgent,
// and keeps the sensor ids it has seen (up to 16 plus 1024, then it starts
// over), so that frames naming the same sensors share their strings
// instead of allocating them for every message. It is not safe for
// concurrent use.
type AgentDecoder struct {
	lim *Limits
	ids internTable
}

// NewAgentDecoder returns a decoder with the limits lim (nil: the defaults).
func NewAgentDecoder(lim *Limits) *AgentDecoder { return &AgentDecoder{lim: lim} }

// Decode is DecodeAgent with the decoder's limits and sensor ids.
func (d *AgentDecoder) Decode(b []byte) ([]Message, error) { return decodeAgent(b, d.lim, &d.ids) }

// DecodeClient decodes and validates one client → hub dashboard message
// (PROTOCOL.md, "Client → hub"): required fields per op, channels, device
// ids. lim may be nil (64 KiB, see DefaultClientLimits).
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
// messages, in order. It is what clients (tests, the load tool) use. lim may
// be nil (16 MiB per batch).
func DecodeServer(b []byte, p Proto, lim *Limits) ([]ServerMessage, error) {
	return decodeServer(b, p, lim)
}

// AppendClient appends one client → hub message in encoding p to dst.
func AppendClient(dst []byte, m *ClientMessage, p Proto) ([]byte, error) {
	return appendClient(dst, m, p)
}

// AppendStored appends the backplane form of s to dst (PROTOCOL.md,
// "Stored form"): FRAME's compact samples plus the device, the spool id and
// each float sensor's resolution.
func AppendStored(dst []byte, s *Stored) ([]byte, error) { return appendStored(dst, s) }

// DecodeStored decodes the backplane form of a frame, with the agent link's
// default limits, and gives float values back their resolution.
func DecodeStored(b []byte) (*Stored, error) { return decodeStored(b) }
