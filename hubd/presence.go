package hubd

import (
	"context"
	"sync"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// presenceHub is the set of sessions subscribed to the presence channel
// (PROTOCOL.md, "Dashboard link", presence): no offsets and no history;
// the devices reply is the initial state.
type presenceHub struct {
	mu   sync.Mutex // guards subs; held while one change is queued to all
	subs map[sink]struct{}
}

func newPresenceHub() *presenceHub {
	return &presenceHub{subs: make(map[sink]struct{})}
}

func (p *presenceHub) add(s sink) {
	p.mu.Lock()
	p.subs[s] = struct{}{}
	p.mu.Unlock()
}

func (p *presenceHub) remove(s sink) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
}

// publish queues one presence change to every subscribed session, encoded
// once per encoding.
func (p *presenceHub) publish(d backplane.DeviceState) {
	msg := &frame.PresenceMsg{Device: d.ID, Online: d.Online}
	if d.Online {
		msg.Hub, msg.Region = d.Hub, d.Region
	}
	sh := newShared(msg)
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.subs {
		if f, ok := s.(deviceFilter); ok && !f.presenceOf(d.ID) {
			continue // a scoped token sees only the devices it may read
		}
		if b := sh.bytes(s.encoding()); b != nil {
			s.enqueue(b)
		}
	}
}

// devices answers the devices op from the backplane's presence.
func (s *session) devices(ctx context.Context, m *frame.ClientMessage) error {
	list, err := s.srv.bp.Devices(ctx)
	if err != nil {
		return s.replyError(m, backplaneError(err))
	}
	out := &frame.DeviceList{ID: m.ID, Devices: make([]frame.DeviceInfo, 0, len(list))}
	for _, d := range list {
		if !s.ident.canRead(frame.ChannelDevPrefix + d.ID) {
			continue // a scoped token sees only the devices it may read
		}
		out.Devices = append(out.Devices, deviceInfo(d))
	}
	return s.reply(out)
}

// deviceInfo is the devices-reply form of a device state: labels and
// sensors always present, hub and region only while online.
func deviceInfo(d backplane.DeviceState) frame.DeviceInfo {
	di := frame.DeviceInfo{
		ID:           d.ID,
		Online:       d.Online,
		Labels:       d.Labels,
		Sensors:      d.Sensors,
		AgentVersion: d.AgentVersion,
	}
	if di.Labels == nil {
		di.Labels = map[string]string{}
	}
	if di.Sensors == nil {
		di.Sensors = []frame.SensorInfo{}
	}
	if d.Online {
		di.Hub, di.Region = d.Hub, d.Region
	}
	if !d.LastSeen.IsZero() {
		di.LastSeen = d.LastSeen.UnixNano()
	}
	return di
}

// handler is the hub's backplane.Handler: publications and resets go to
// the fan-out, presence changes to the presence channel, hub messages
// (commands between hubs) to the router.
type handler struct {
	*fanout
	presence *presenceHub
	router   *hubRouter // nil without backplane.Hubs
}

// HandlePresence implements backplane.Handler.
func (h handler) HandlePresence(d backplane.DeviceState) { h.presence.publish(d) }

var _ backplane.Handler = handler{}
