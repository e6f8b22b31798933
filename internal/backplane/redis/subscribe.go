package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// Subscribe makes Run deliver ch's publications after its current top.
// Subscribing again keeps the existing cursor. It reads the channel's
// position, so it fails with backplane.ErrUnavailable while the server is
// down.
func (b *Broker) Subscribe(ctx context.Context, ch string) error {
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	s, err := b.subscriberFor(ctx, ch, b.pubsubName(ch))
	if err != nil {
		return wrap("subscribe "+ch, err)
	}
	s.mu.Lock()
	known := s.subs[ch] != nil
	s.mu.Unlock()
	if known {
		return nil
	}
	// The cursor starts at the top read before the subscription is active;
	// the fill after its confirmation delivers what came in between, so a
	// History call after Subscribe never misses a live publication.
	res, err := b.readHistory(ctx, b.shardFor(ch), ch, backplane.HistoryOptions{})
	if err != nil {
		return wrap("subscribe "+ch, err)
	}
	s.mu.Lock()
	if s.subs[ch] != nil {
		s.mu.Unlock()
		return nil
	}
	s.subs[ch] = &cursor{pos: res.Position}
	ps := s.ps
	s.mu.Unlock()
	if ps != nil {
		// A failure here means the connection is broken; Run notices,
		// reconnects and subscribes every channel again.
		if err := s.subscribe(ctx, ps, b.pubsubName(ch)); err != nil {
			b.log.Debug("subscribe failed, left to the reconnect", "channel", ch, "error", err)
		}
	}
	return nil
}

// Unsubscribe stops delivery of ch.
func (b *Broker) Unsubscribe(ctx context.Context, ch string) error {
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	s, err := b.subscriberFor(ctx, ch, b.pubsubName(ch))
	if err != nil {
		return wrap("unsubscribe "+ch, err)
	}
	s.mu.Lock()
	_, known := s.subs[ch]
	delete(s.subs, ch)
	ps := s.ps
	s.mu.Unlock()
	if known && ps != nil {
		if err := s.unsubscribe(ctx, ps, b.pubsubName(ch)); err != nil {
			b.log.Debug("unsubscribe failed, left to the reconnect", "channel", ch, "error", err)
		}
	}
	return nil
}

// runSubscriber keeps s's pub/sub connection up until ctx ends: connect,
// subscribe everything, deliver; on failure wait a growing, jittered delay
// and start again.
func (b *Broker) runSubscriber(ctx context.Context, s *subscriber, h backplane.Handler) error {
	const minDelay, maxDelay = 50 * time.Millisecond, 2 * time.Second
	delay := minDelay
	for {
		start := time.Now()
		err := b.runPubSub(ctx, s, h)
		if ctx.Err() != nil {
			return nil
		}
		b.m.reconnects.Inc()
		if time.Since(start) > 10*time.Second {
			delay = minDelay // it worked for a while: this is a new outage
		}
		b.log.Warn("pub/sub connection lost", "addr", s.addr, "error", err, "retry_in", delay)
		wait := delay/2 + rand.N(delay/2+1)
		delay = min(2*delay, maxDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// runPubSub runs one pub/sub connection until it fails or ctx ends.
func (b *Broker) runPubSub(ctx context.Context, s *subscriber, h backplane.Handler) error {
	var ps *goredis.PubSub // no channels yet: connects on first use
	if s.sharded {
		ps = s.client.SSubscribe(ctx)
	} else {
		ps = s.client.Subscribe(ctx)
	}
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks Receive
	defer stop()

	s.mu.Lock()
	s.ps = ps
	names := make([]string, 0, len(s.subs)+1)
	for ch := range s.subs {
		names = append(names, b.pubsubName(ch))
	}
	presence, hub := s.presence, s.hub
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.ps == ps {
			s.ps = nil
		}
		s.mu.Unlock()
	}()
	if presence {
		names = append(names, b.presenceChannel())
	}
	if hub {
		names = append(names, b.hubChannel(b.o.HubID))
	}
	if len(names) > 0 {
		if err := s.subscribe(ctx, ps, names...); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
	} else if err := ps.Ping(ctx); err != nil { // connect now, to notice an outage
		return fmt.Errorf("ping: %w", err)
	}

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.o.HealthInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged && ctx.Err() == nil {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind != "subscribe" && m.Kind != "ssubscribe" {
				continue
			}
			if ch, ok := b.channelOf(m.Channel); ok {
				if err := b.fill(ctx, s, ch, h, true); err != nil {
					return err
				}
			}
		case *goredis.Message:
			switch {
			case m.Channel == b.presenceChannel():
				b.deliverPresence(m.Payload, h)
				continue
			case b.o.HubID != "" && m.Channel == b.hubChannel(b.o.HubID):
				if hh, ok := h.(backplane.HubHandler); ok {
					hh.HandleHubMessage([]byte(m.Payload))
				}
				continue
			}
			ch, ok := b.channelOf(m.Channel)
			if !ok {
				continue
			}
			if err := b.live(ctx, s, ch, m.Payload, h); err != nil {
				return err
			}
		}
	}
}

// parseNotification splits "<offset> <epoch> <data>".
func parseNotification(payload string) (uint64, string, []byte, bool) {
	offStr, rest, ok1 := strings.Cut(payload, " ")
	epoch, data, ok2 := strings.Cut(rest, " ")
	off, err := strconv.ParseUint(offStr, 10, 64)
	if !ok1 || !ok2 || err != nil || epoch == "" {
		return 0, "", nil, false
	}
	return off, epoch, []byte(data), true
}

// live handles a notification: the next offset is delivered; an older one
// (already delivered by a fill) is dropped; anything else is a gap or a new
// epoch and is repaired from the stream.
func (b *Broker) live(ctx context.Context, s *subscriber, ch, payload string, h backplane.Handler) error {
	off, epoch, data, ok := parseNotification(payload)
	if !ok {
		b.log.Error("malformed notification", "channel", ch)
		return nil
	}
	s.mu.Lock()
	cur := s.subs[ch]
	if cur == nil {
		s.mu.Unlock()
		return nil // unsubscribed
	}
	pos := cur.pos
	switch {
	case epoch == pos.Epoch && off <= pos.Offset:
		s.mu.Unlock()
		return nil
	case epoch == pos.Epoch && off == pos.Offset+1:
		cur.pos.Offset = off
		s.mu.Unlock()
		h.HandlePublication(ch, epoch, backplane.Publication{Offset: off, Data: data})
		return nil
	}
	s.mu.Unlock()
	return b.fill(ctx, s, ch, h, false)
}

// fill delivers what ch's stream holds after the cursor. afterSubscribe
// says why: a (re)subscription was confirmed, or a live notification did
// not follow the cursor.
func (b *Broker) fill(ctx context.Context, s *subscriber, ch string, h backplane.Handler, afterSubscribe bool) error {
	s.mu.Lock()
	cur := s.subs[ch]
	if cur == nil {
		s.mu.Unlock()
		return nil
	}
	pos := cur.pos
	reason := "gap"
	if afterSubscribe {
		reason = "resubscribe"
		if !cur.confirmed {
			reason = "subscribe"
		}
		cur.confirmed = true
	}
	s.mu.Unlock()

	sh := b.shardFor(ch)
	res, err := b.readHistory(ctx, sh, ch, backplane.HistoryOptions{Since: &pos})
	if err != nil {
		return fmt.Errorf("fill %s: %w", ch, err)
	}
	var reset *backplane.Position
	if !res.Recovered {
		// Another epoch, or the gap is trimmed: announce it and deliver what
		// is kept.
		res, err = b.readHistory(ctx, sh, ch, backplane.HistoryOptions{Last: b.o.HistorySize})
		if err != nil {
			return fmt.Errorf("fill %s: %w", ch, err)
		}
		r := res.Position
		if len(res.Publications) > 0 {
			r.Offset = res.Publications[0].Offset - 1
		}
		reset = &r
		if r.Epoch != pos.Epoch {
			b.m.resetEpoch.Inc()
		} else {
			b.m.resetTrimmed.Inc()
		}
	}
	s.mu.Lock()
	if s.subs[ch] != cur {
		s.mu.Unlock()
		return nil // unsubscribed meanwhile
	}
	cur.pos = res.Position
	s.mu.Unlock()
	if reset != nil {
		b.log.Info("reset", "channel", ch, "epoch", reset.Epoch, "offset", reset.Offset, "previous_epoch", pos.Epoch)
		h.HandleReset(ch, *reset)
	}
	if n := len(res.Publications); n > 0 {
		b.m.filled[reason].Add(float64(n))
		if reason == "gap" {
			b.log.Debug("gap filled from the stream", "channel", ch, "publications", n)
		}
	}
	for _, p := range res.Publications {
		h.HandlePublication(ch, res.Position.Epoch, p)
	}
	return nil
}
