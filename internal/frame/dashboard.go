package frame

// Dashboard link (PROTOCOL.md, "Dashboard link"): JSON objects, or CBOR maps
// with the same text keys.

// Proto is a dashboard-link encoding, chosen by WebSocket subprotocol.
type Proto uint8

const (
	ProtoJSON Proto = iota // "edgeplane.v1.json", text messages
	ProtoCBOR              // "edgeplane.v1.cbor", binary messages
)

// Subprotocol names.
const (
	SubprotocolAgent = "edgeplane.agent.v1"
	SubprotocolJSON  = "edgeplane.v1.json"
	SubprotocolCBOR  = "edgeplane.v1.cbor"
)

// Client ops.
const (
	OpAuth    = "auth"
	OpSub     = "sub"
	OpUnsub   = "unsub"
	OpDevices = "devices"
	OpCmd     = "cmd"
	OpPing    = "ping"
)

// Server ops.
const (
	OpOK       = "ok"
	OpFrame    = "frame"
	OpPresence = "presence"
	OpReset    = "reset"
	OpResult   = "result"
	OpError    = "error"
	OpPong     = "pong"
)

// Channel names.
const (
	ChannelPresence  = "presence"
	ChannelDevPrefix = "dev/"
)

// Since is a channel position given by a client to recover from.
type Since struct {
	Epoch string `json:"epoch"`
	Off   uint64 `json:"off"`
}

// ClientMessage is any client → hub message, validated for its op: required
// fields are present and well-typed, channels are well-formed.
type ClientMessage struct {
	Op    string
	ID    uint64 // echoed in the reply; 0 when absent (HasID false)
	HasID bool

	Token string // auth

	Ch      string   // sub, unsub
	Since   *Since   // sub: recover after this position
	History int      // sub: last N first; 0 = none
	Sensors []string // sub: only these sensors
	MaxRate float64  // sub: frames/s; 0 = unlimited
	MinMax  bool     // sub: merged frames also carry <sensor>@min and @max; only with MaxRate

	Device string         // cmd
	Name   string         // cmd
	Args   map[string]any // cmd
}

// ServerMessage is any hub → client message: *OK, *DashFrame, *PresenceMsg,
// *Reset, *CmdResult, *ErrorReply, *Pong or *DeviceList.
type ServerMessage interface {
	ServerOp() string
}

// OK replies to auth, sub and unsub.
type OK struct {
	ID        uint64
	Ch        string // sub, unsub
	HasPos    bool   // sub to a dev/ channel: Epoch and Off are sent
	Epoch     string
	Off       uint64 // newest offset of the channel, 0 when empty
	Recovered *bool  // only when since was given
	Filtered  bool   // only when sensors or max_rate was given
}

// DashFrame is a frame delivered on a device channel.
type DashFrame struct {
	Ch      string
	Off     uint64
	Device  string
	Seq     uint64
	T0      int64 // unix ns; sent as float ms with µs precision
	Samples []Sample
}

// PresenceMsg tells clients subscribed to "presence" that a device changed state.
type PresenceMsg struct {
	Device string
	Online bool
	Hub    string
	Region string
}

// Reset says a channel's history was lost; offsets start again in Epoch.
type Reset struct {
	Ch    string
	Epoch string
}

// CmdResult answers a cmd.
type CmdResult struct {
	ID     uint64
	OK     bool
	Result any
	Error  string
}

// ErrorReply reports a failed request; the connection stays open.
type ErrorReply struct {
	ID      uint64
	HasID   bool
	Code    int
	Message string
}

// Pong answers ping.
type Pong struct {
	ID uint64
}

// DeviceInfo is one entry of the devices reply.
type DeviceInfo struct {
	ID           string
	Online       bool
	Hub          string // while online
	Region       string // while online
	Labels       map[string]string
	Sensors      []SensorInfo
	AgentVersion string
	LastSeen     int64 // unix ns; 0 = never; sent as float ms
}

// DeviceList replies to devices.
type DeviceList struct {
	ID      uint64
	Devices []DeviceInfo
}

func (*OK) ServerOp() string          { return OpOK }
func (*DashFrame) ServerOp() string   { return OpFrame }
func (*PresenceMsg) ServerOp() string { return OpPresence }
func (*Reset) ServerOp() string       { return OpReset }
func (*CmdResult) ServerOp() string   { return OpResult }
func (*ErrorReply) ServerOp() string  { return OpError }
func (*Pong) ServerOp() string        { return OpPong }
func (*DeviceList) ServerOp() string  { return OpDevices }
