package frame

import (
	"errors"
	"time"
)

// Decode errors. Every decoder error wraps exactly one of these.
var (
	// ErrUndecodable: the bytes are not CBOR/JSON at all (close 1007).
	ErrUndecodable = errors.New("frame: undecodable message")
	// ErrInvalid: decodable but not a valid message: unknown kind or op,
	// missing or ill-typed required field, malformed channel (ERROR 400, close 1008).
	ErrInvalid = errors.New("frame: invalid message")
	// ErrTooLarge: over a size, nesting or length limit (ERROR 413, close 1009).
	ErrTooLarge = errors.New("frame: message too large")
)

// Limits bound what a decoder accepts (PROTOCOL.md, "Limits"). Zero fields
// mean the defaults (see DefaultAgentLimits, DefaultClientLimits and the
// Default* constants); a nil *Limits is valid everywhere.
type Limits struct {
	MaxMessageBytes int // whole WebSocket message; default 1 MiB agent, 64 KiB dashboard
	MaxNesting      int // CBOR/JSON nesting depth; default 16
	MaxArrayLen     int // elements of any array, and the samples of a frame once series are expanded; default 65536
	MaxMapPairs     int // pairs of any map; default 1024
}

// Kind is the agent-link message kind, key 0 of every agent-link map.
type Kind uint8

// Agent-link message kinds (PROTOCOL.md, "Agent link").
const (
	KindHello   Kind = 1
	KindWelcome Kind = 2
	KindFrame   Kind = 3
	KindAck     Kind = 4
	KindCommand Kind = 5
	KindResult  Kind = 6
	KindError   Kind = 7
)

// Message is one agent-link message: *Hello, *Welcome, *Frame, *Ack,
// *Command, *Result or *Error.
type Message interface {
	Kind() Kind
}

// SensorInfo describes one sensor of a device (HELLO key 3; devices reply).
type SensorInfo struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind,omitempty"`
	Unit       string  `json:"unit,omitempty"`
	PeriodMS   uint64  `json:"period_ms,omitempty"`
	Resolution float64 `json:"resolution,omitempty"`
}

// Hello is the agent's first message (kind 1).
type Hello struct {
	DeviceID     string            // 1, required
	AgentVersion string            // 2
	Sensors      []SensorInfo      // 3
	Labels       map[string]string // 4
	FirstSeq     uint64            // 5, required: oldest seq in the spool, or the next seq when empty
	SpoolID      string            // 6, required
}

// Welcome is the hub's answer to HELLO (kind 2).
type Welcome struct {
	HubID    string // 1, required
	Region   string // 2, required
	AckedSeq uint64 // 3, required: highest seq stored for this device and spool id; 0 = none
}

// Sample is one reading inside a frame: [sensor id, dt µs after t0, value].
type Sample struct {
	Sensor string
	DT     uint64 // µs after the frame's T0
	Value  Value
}

// Frame is a batch of samples (kind 3). On the wire Samples travel in key 3
// and, for sensors sampled on a regular period, as series in key 4; decoders
// return them merged, in the order of SortSamples.
type Frame struct {
	Seq     uint64 // 1, required, starts at 1
	T0      int64  // 2, required: unix ns of the first sample
	Samples []Sample
}

// Time returns T0 as a time.Time.
func (f *Frame) Time() time.Time { return time.Unix(0, f.T0) }

// Ack acknowledges every frame with seq <= Seq (kind 4).
type Ack struct {
	Seq uint64 // 1, required
}

// Command asks the agent to do something (kind 5).
type Command struct {
	ID   string         // 1, required
	Name string         // 2, required, e.g. "gpio.write"
	Args map[string]any // 3
}

// Result answers a Command (kind 6).
type Result struct {
	ID     string // 1, required
	OK     bool   // 2, required
	Result any    // 3, when OK
	Error  string // 4, required when !OK
}

// Error reports a protocol error; the sender closes afterwards (kind 7).
type Error struct {
	Code    uint16 // 1, required: 400, 401, 403, 404, 408, 413, 429, 503
	Message string // 2, required
}

func (*Hello) Kind() Kind   { return KindHello }
func (*Welcome) Kind() Kind { return KindWelcome }
func (*Frame) Kind() Kind   { return KindFrame }
func (*Ack) Kind() Kind     { return KindAck }
func (*Command) Kind() Kind { return KindCommand }
func (*Result) Kind() Kind  { return KindResult }
func (*Error) Kind() Kind   { return KindError }

// Stored is a frame as the backplane stores and carries it: the agent's FRAME
// plus the device and spool it came from. Sample values keep their resolution
// (from the device's HELLO), so that any hub or bridge that reads it prints
// the rounded decimal without knowing the device.
type Stored struct {
	Device  string
	SpoolID string
	Seq     uint64
	T0      int64 // unix ns
	Samples []Sample
}
