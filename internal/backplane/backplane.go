// Package backplane is how hubs (and the bridge) share channels: a Broker
// stores every publication in a bounded per-channel history with contiguous
// offsets and an epoch, and notifies every node that subscribes to the channel.
//
// Implementations: memory (single node, no Redis) and redis (many hubs, one
// Redis server, several shards or Redis Cluster). hubd never talks to Redis
// directly; it sees only these interfaces. The conformance suite in
// backplanetest runs against every implementation.
package backplane

import (
	"context"
	"errors"
	"time"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// ErrUnavailable wraps errors caused by the backplane being unreachable
// (Redis down); hubd maps it to error code 503 and /readyz failing.
var ErrUnavailable = errors.New("backplane: unavailable")

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("backplane: closed")

// ErrNoHub is wrapped by Hubs.SendToHub when no node with that hub id is
// listening.
var ErrNoHub = errors.New("backplane: no such hub")

// Position is a place in a channel's history. Offsets start at 1 and are
// contiguous within one epoch; an empty channel is at offset 0. The epoch is
// random and changes whenever the history is lost (Redis restarted empty,
// key expired, memory broker restarted).
type Position struct {
	Epoch  string
	Offset uint64
}

// Publication is one stored message of a channel.
type Publication struct {
	Offset uint64
	Data   []byte // frame.AppendStored bytes on dev/ channels
}

// PublishOptions carry the dedup key of a publication.
type PublishOptions struct {
	// SpoolID and Seq deduplicate: with the same SpoolID as the channel's last
	// publication and Seq <= its seq, Publish stores and notifies nothing and
	// returns the existing position with Duplicate set. A new SpoolID replaces
	// the old one. An empty SpoolID disables dedup.
	SpoolID string
	Seq     uint64
}

// Message is one publication of a PublishBatch call.
type Message struct {
	Data []byte
	Opts PublishOptions
}

// PublishResult is what Publish did.
type PublishResult struct {
	Position  Position // of this publication, or of the channel's top for a duplicate
	Duplicate bool
}

// HistoryOptions select what History returns.
type HistoryOptions struct {
	// Since, when set, asks for every publication after it. If its epoch is not
	// the channel's or publications after it were trimmed, History returns
	// none and Recovered false (recovery is all or nothing).
	Since *Position
	// Last asks for the newest Last publications (fewer if fewer exist), when
	// Since is nil. 0 returns none: only the current position.
	Last int
}

// HistoryResult is History's answer.
type HistoryResult struct {
	Publications []Publication // ascending offsets
	Position     Position      // the channel's current top
	Recovered    bool          // with Since: every publication after it is included
}

// Handler receives what a Broker delivers. Calls for one channel are
// serialized and in offset order; calls for different channels may run
// concurrently. A Handler must not block for long: it hands off to its own
// queues.
type Handler interface {
	// HandlePublication delivers a publication of a channel the node is
	// subscribed to. Offsets have no gaps within an epoch: a broker that lost
	// notifications fills them from history before delivering later ones.
	HandlePublication(ch string, epoch string, p Publication)
	// HandleReset says the channel's epoch changed (its history was lost);
	// later publications carry offsets of the new epoch, after pos.
	//
	// It is also called with the unchanged epoch when this node fell so far
	// behind that publications it had not delivered were already trimmed
	// from the history: the gap cannot be filled, so it is announced instead
	// of delivered silently; later publications carry offsets after pos.
	HandleReset(ch string, pos Position)
	// HandlePresence delivers a device state change from any node.
	HandlePresence(d DeviceState)
}

// Broker is the channel store and notifier.
type Broker interface {
	// Run delivers notifications to h until ctx ends or Close is called. It is
	// called once; Subscribe may be called before or while it runs.
	Run(ctx context.Context, h Handler) error
	// Publish stores data in ch's history and notifies subscribed nodes,
	// atomically (one round trip on Redis), with dedup (see PublishOptions).
	// When it returns nil the publication is durable in the backplane's sense:
	// hubd ACKs the agent only after it.
	Publish(ctx context.Context, ch string, data []byte, opts PublishOptions) (PublishResult, error)
	// PublishBatch publishes msgs on ch in their order, as that many Publish
	// calls one after the other would, in as few round trips as the broker
	// can (one on Redis for up to its batch size). It returns the results of
	// the leading messages that are stored. With an error, len(res) <
	// len(msgs); of the messages after those, some leading ones may be stored
	// too (a retry with the same spool id and seqs finds them duplicates),
	// but never one after a message that was not: the dedup by seq would
	// otherwise turn the retry of the lost one into a silent drop.
	PublishBatch(ctx context.Context, ch string, msgs []Message) (res []PublishResult, err error)
	// Subscribe makes this node receive ch's publications; Unsubscribe stops
	// it. Both are idempotent; hubd reference-counts its sessions itself.
	Subscribe(ctx context.Context, ch string) error
	Unsubscribe(ctx context.Context, ch string) error
	// History reads ch's stored publications.
	History(ctx context.Context, ch string, opts HistoryOptions) (HistoryResult, error)
	// Close releases resources; idempotent.
	Close() error
}

// DeviceState is a device's presence and metadata, kept per region.
type DeviceState struct {
	ID           string
	Online       bool
	Hub          string
	Region       string
	Labels       map[string]string
	Sensors      []frame.SensorInfo
	AgentVersion string
	LastSeen     time.Time
}

// Presence keeps which devices are online where. Changes are delivered to
// every node through Handler.HandlePresence.
type Presence interface {
	// SetDevice records d (online or offline). An online entry expires after
	// ttl unless refreshed by calling SetDevice again; expiry turns it offline.
	SetDevice(ctx context.Context, d DeviceState, ttl time.Duration) error
	// Devices lists every known device, online or not.
	Devices(ctx context.Context) ([]DeviceState, error)
	// Device returns one device; ok is false when it is unknown.
	Device(ctx context.Context, id string) (d DeviceState, ok bool, err error)
}

// Backplane is what hubd needs: a Broker with Presence.
type Backplane interface {
	Broker
	Presence
}

// Ready is an optional capability: a backplane that can be unreachable
// reports it, for /readyz.
type Ready interface {
	Ready(ctx context.Context) error
}

// Cursors is an optional capability: a small durable store of named
// positions. The bridge keeps there, per exported channel, the offset up to
// which the MQTT broker acknowledged (its export cursor), so that a restart
// resumes where the previous run stopped. A backplane implements it beside
// the channel data (Redis: one hash), so the cursors live and die with the
// histories they point into.
type Cursors interface {
	// GetCursor returns the position stored under name; ok is false when
	// none is.
	GetCursor(ctx context.Context, name string) (pos Position, ok bool, err error)
	// SetCursor stores pos under name, replacing what was there.
	SetCursor(ctx context.Context, name string, pos Position) error
}

// Hubs is an optional capability: messages addressed to one hub, the
// transport hubd routes commands over (to the hub that holds a device, found
// through presence) and results back (to the asking hub). A backplane built
// with a hub id delivers the messages sent to that id to its Handler, when
// the Handler implements HubHandler.
type Hubs interface {
	// SendToHub hands data to hub. Delivery is at most once and unordered
	// with respect to channel publications: a hub that stops or loses its
	// connection meanwhile never gets it, so the caller waits with a
	// timeout. It returns an error wrapping ErrNoHub when no node with that
	// id is listening right now.
	SendToHub(ctx context.Context, hub string, data []byte) error
}

// HubHandler is implemented by a Handler that takes hub messages. Calls are
// serialized, and like every Handler method must not block for long.
type HubHandler interface {
	HandleHubMessage(data []byte)
}

// HubInfo is a hub's entry in the region's hub registry.
type HubInfo struct {
	ID       string
	Region   string
	Addr     string // where clients and agents reach it, e.g. its public URL
	LastSeen time.Time
}

// HubRegistry is an optional capability: the hubs of a region register
// themselves with a ttl and refresh it; a hub that dies without saying
// goodbye drops out of the list when its entry expires.
type HubRegistry interface {
	// RegisterHub records h until ttl passes; call it again before then.
	RegisterHub(ctx context.Context, h HubInfo, ttl time.Duration) error
	// UnregisterHub removes a hub's entry (drain).
	UnregisterHub(ctx context.Context, id string) error
	// Hubs lists the hubs whose entry has not expired, ordered by ID.
	Hubs(ctx context.Context) ([]HubInfo, error)
}
