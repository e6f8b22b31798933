package hubd

import (
	"context"
	"errors"
	"strings"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/hubd/internal/window"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// maxHistory bounds what one sub may ask to replay with history.
const maxHistory = 100_000

// subscribe handles a sub (PROTOCOL.md, "Dashboard link", sub). For a
// device channel it gives no gap and no duplicate between replay and live:
//
//  1. take a reference on the channel (the hub subscribes to it on the
//     backplane for the first one) and attach the subscription to its
//     stream in buffering mode, so that every publication delivered from
//     now on is kept;
//  2. read the history (since, or the last N, or only the position);
//  3. under the channel's lock: queue ok, the replay, then the buffered
//     deliveries newer than the history's top, and switch to live.
//
// A publication is either at or below the top History saw (so it is in
// the replay, and a copy delivered to the hub while buffering or later is
// dropped: the backplane may tell the hub of a stored publication after
// History returned it) or above it, which means it was stored after step 1
// and is buffered or delivered live.
func (s *session) subscribe(ctx context.Context, m *frame.ClientMessage) error {
	if m.Ch == frame.ChannelPresence {
		if !s.ident.canRead(m.Ch) {
			return s.replyError(m, errorf(403, "not allowed to read %s", m.Ch))
		}
		if !s.presence {
			s.presence = true
			s.presenceIdent = s.ident
			s.srv.presence.add(s)
		}
		return s.reply(&frame.OK{ID: m.ID, Ch: m.Ch})
	}
	device, ok := strings.CutPrefix(m.Ch, frame.ChannelDevPrefix)
	if !ok || !frame.ValidDeviceID(device) {
		return s.replyError(m, errorf(400, "malformed channel %q", m.Ch))
	}
	if !s.ident.canRead(m.Ch) {
		return s.replyError(m, errorf(403, "not allowed to read %s", m.Ch))
	}
	if _, dup := s.subs[m.Ch]; dup {
		return s.replyError(m, errorf(400, "already subscribed to %s", m.Ch))
	}
	if len(s.subs) >= s.srv.cfg.r.subscriptions {
		s.srv.sec.hit(limitSubscriptions)
		return s.replyError(m, errorf(429, "at most %d subscriptions per connection", s.srv.cfg.r.subscriptions))
	}
	if m.History < 0 || m.History > maxHistory {
		return s.replyError(m, errorf(400, "history must be between 0 and %d", maxHistory))
	}
	filt := window.NewFilter(m.Sensors, m.MaxRate).WithMinMax(m.MinMax)

	c, err := s.srv.fanout.acquire(ctx, m.Ch)
	if err != nil {
		return s.replyError(m, backplaneError(err))
	}
	sub := &subscription{ch: m.Ch, sink: s, buffering: true, maxBuf: s.q.maxMsgs}
	c.mu.Lock()
	c.addLocked(sub, filt)
	c.mu.Unlock()

	opts := backplane.HistoryOptions{Since: nil, Last: m.History}
	if m.Since != nil {
		opts = backplane.HistoryOptions{Since: &backplane.Position{Epoch: m.Since.Epoch, Offset: m.Since.Off}}
	}
	hr, err := s.srv.bp.History(ctx, m.Ch, opts)
	if err != nil {
		c.mu.Lock()
		c.removeLocked(sub)
		c.mu.Unlock()
		s.srv.fanout.release(c)
		return s.replyError(m, backplaneError(err))
	}

	ok2 := &frame.OK{ID: m.ID, Ch: m.Ch, HasPos: true, Epoch: hr.Position.Epoch, Off: hr.Position.Offset, Filtered: !filt.IsZero()}
	if m.Since != nil {
		rec := hr.Recovered
		ok2.Recovered = &rec
	}
	okBytes, err := frame.AppendServer(nil, ok2, s.proto)
	if err != nil {
		return err
	}
	replay, n := s.encodeReplay(m.Ch, filt, hr.Publications)

	s.subs[m.Ch] = &sessionSub{c: c, sub: sub}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.enqueue(okBytes) {
		return nil
	}
	if len(replay) > 0 && !s.enqueue(replay) {
		return nil
	}
	s.srv.m.deliveries.Add(float64(n))
	if sub.overflow {
		// More was published while History ran than the queue may hold.
		s.srv.m.slowConsumers.WithLabelValues(slowQueueMessages).Inc()
		s.end(websocket.StatusTryAgainLater, "slow consumer: fell behind while reading history", false)
		return nil
	}
	for _, it := range liveAfter(sub.buf, hr.Position) {
		if b := it.msg.bytes(s.proto); b != nil && !s.enqueue(b) {
			break
		}
	}
	sub.buf = nil
	sub.buffering = false
	sub.seen = hr.Position
	return nil
}

// liveAfter returns the buffered deliveries that come after top, the
// position History read. In the history's epoch those are the items above
// its offset. Items of another epoch are newer only when the buffer also
// holds the reset into that epoch (a broker announces every new epoch with
// a reset before its publications); otherwise they are from an older epoch,
// delivered before History read the new one, and are dropped.
func liveAfter(buf []bufItem, top backplane.Position) []bufItem {
	var out []bufItem
	var newer map[string]bool
	for _, it := range buf {
		switch {
		case it.epoch == top.Epoch:
			if it.off <= top.Offset {
				continue // in the replay, or before what was asked
			}
		case it.reset:
			if newer == nil {
				newer = make(map[string]bool)
			}
			newer[it.epoch] = true
		case !newer[it.epoch]:
			continue
		}
		out = append(out, it)
	}
	return out
}

// encodeReplay encodes the replayed publications (filtered like the live
// stream; with max_rate merged by the frames' own time) into one batch.
func (s *session) encodeReplay(ch string, filt window.Filter, pubs []backplane.Publication) ([]byte, int) {
	frames := make([]*frame.DashFrame, 0, len(pubs))
	for _, p := range pubs {
		st, err := frame.DecodeStored(p.Data)
		if err != nil {
			s.log.Warn("undecodable publication in history", "channel", ch, "offset", p.Offset, "error", err)
			continue
		}
		if df := filt.Select(dashFrame(ch, p.Offset, st)); df != nil {
			frames = append(frames, df)
		}
	}
	frames = window.Downsample(filt, frames)
	var b []byte
	for i, df := range frames {
		if i > 0 && s.proto == frame.ProtoJSON {
			b = append(b, '\n')
		}
		var err error
		if b, err = frame.AppendServer(b, df, s.proto); err != nil {
			s.log.Warn("cannot encode frame", "channel", ch, "error", err)
		}
	}
	return b, len(frames)
}

// unsubscribe handles unsub: ok also when the channel was not subscribed.
func (s *session) unsubscribe(m *frame.ClientMessage) error {
	if m.Ch == frame.ChannelPresence {
		if s.presence {
			s.presence = false
			s.srv.presence.remove(s)
		}
	} else {
		s.dropSub(m.Ch)
	}
	return s.reply(&frame.OK{ID: m.ID, Ch: m.Ch})
}

// dropSub ends the session's subscription to ch, if any.
func (s *session) dropSub(ch string) {
	ss, ok := s.subs[ch]
	if !ok {
		return
	}
	delete(s.subs, ch)
	ss.c.mu.Lock()
	ss.c.removeLocked(ss.sub)
	ss.c.mu.Unlock()
	s.srv.fanout.release(ss.c)
}

// sessionSub is what a session keeps of one of its subscriptions.
type sessionSub struct {
	c   *channel
	sub *subscription
}

// backplaneError maps a backplane failure to a reply error: 503, the
// backplane is unavailable (or failed in a way the client can only retry).
func backplaneError(err error) error {
	var pe *protoError
	if errors.As(err, &pe) {
		return err
	}
	return errorf(503, "backplane unavailable: %v", err)
}
