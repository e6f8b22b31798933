package hubd

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// maxWriteBytes is where the writer starts a new WebSocket message while
// coalescing a long queue.
const maxWriteBytes = 1 << 20

// maxCommandsInFlight bounds one session's commands waiting for results.
const maxCommandsInFlight = 16

// session is one dashboard connection (PROTOCOL.md, "Dashboard link").
//
// Goroutines: the HTTP handler's goroutine owns the connection: it runs
// the reader and the writer in an errgroup, waits for the session to end,
// closes the connection (which unblocks both) and cleans up. The reader is
// the only goroutine that reads, and it alone touches subs and presence.
// The writer is the only goroutine that writes: it takes everything queued
// and writes it as one message (JSON objects joined by '\n', or a CBOR
// sequence). Everything else only queues, through enqueue, which never
// blocks.
type session struct {
	srv   *Server
	conn  *websocket.Conn
	req   *http.Request
	proto frame.Proto
	log   hclog.Logger

	q sendQueue

	closeOnce sync.Once
	closing   chan struct{} // closed when the session is to end
	status    websocket.StatusCode
	reason    string
	flush     bool // write what is queued before closing (drain)

	authTimer *time.Timer // set before the reader starts; nil when the upgrade authenticated

	// Reader-owned.
	ident    Identity
	authed   bool
	subs     map[string]*sessionSub
	presence bool
	cmds     chan struct{} // semaphore of commands in flight

	// presenceIdent is the identity presence changes are filtered by: set
	// by the reader before it adds the session to the presence hub, read by
	// the hub's publisher under its lock.
	presenceIdent Identity
}

func (srv *Server) newSession(conn *websocket.Conn, r *http.Request, p frame.Proto) *session {
	return &session{
		srv:     srv,
		conn:    conn,
		req:     r,
		proto:   p,
		log:     srv.log.Named("session").With("remote", r.RemoteAddr, "proto", protoName(p)),
		q:       newSendQueue(srv.cfg.r.sendQueueBytes, srv.cfg.r.sendQueueMessages),
		closing: make(chan struct{}),
		subs:    make(map[string]*sessionSub),
		cmds:    make(chan struct{}, maxCommandsInFlight),
	}
}

// encoding implements sink.
func (s *session) encoding() frame.Proto { return s.proto }

// end asks the session to close with status and reason; the first call
// wins. It never blocks, so it may be called with any lock held.
func (s *session) end(status websocket.StatusCode, reason string, flush bool) {
	s.closeOnce.Do(func() {
		s.status, s.reason, s.flush = status, closeReason(reason), flush
		s.q.close()
		close(s.closing)
	})
}

// goingAway implements tracked: the hub drains.
func (s *session) goingAway(reason string) { s.end(websocket.StatusGoingAway, reason, true) }

// enqueue implements sink. Over the queue's bound the session ends with
// 1013 and the slow consumer is counted.
func (s *session) enqueue(b []byte) bool {
	switch s.q.push(b) {
	case pushOK:
		return true
	case pushClosed:
		return false
	case pushOverBytes:
		s.srv.m.slowConsumers.WithLabelValues(slowQueueBytes).Inc()
		s.end(websocket.StatusTryAgainLater, fmt.Sprintf("slow consumer: send queue over %d bytes", s.q.maxBytes), false)
	case pushOverMessages:
		s.srv.m.slowConsumers.WithLabelValues(slowQueueMessages).Inc()
		s.end(websocket.StatusTryAgainLater, fmt.Sprintf("slow consumer: send queue over %d messages", s.q.maxMsgs), false)
	}
	return false
}

// run serves the session until it ends; it closes the connection.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := s.srv.m
	m.sessions.WithLabelValues(protoName(s.proto)).Inc()
	defer m.sessions.WithLabelValues(protoName(s.proto)).Dec()

	s.conn.SetReadLimit(s.srv.cfg.r.clientMessageBytes)
	if id, err := s.srv.auth.Authenticate(ctx, Credentials{Token: bearerToken(s.req), Request: s.req}); err == nil && id.canView() {
		s.ident, s.authed = id, true
	} else {
		// Stopped by a successful auth; when it fires first, the deadline
		// passed and the session ends, whatever the reader does next.
		s.authTimer = time.AfterFunc(s.srv.cfg.r.authTimeout, func() {
			s.srv.sec.hit(limitAuthTimeout)
			s.end(websocket.StatusPolicyViolation, "no auth message within "+s.srv.cfg.r.authTimeout.String(), false)
		})
		defer s.authTimer.Stop()
	}

	g, gctx := errgroup.WithContext(ctx)
	writerDone := make(chan struct{})
	g.Go(func() error {
		defer close(writerDone)
		s.writeLoop(gctx)
		return nil
	})
	g.Go(func() error {
		err := s.readLoop(gctx, g)
		if isNormalEnd(err) {
			s.end(websocket.StatusNormalClosure, "", false)
		} else {
			s.log.Debug("session ended", "error", err)
			s.end(websocket.StatusInternalError, "read failed", false)
		}
		return nil
	})

	select {
	case <-s.closing:
	case <-ctx.Done():
		s.end(websocket.StatusGoingAway, "hub stopping", false)
	}
	if s.flush {
		t := time.NewTimer(s.srv.cfg.r.writeTimeout)
		select {
		case <-writerDone:
		case <-t.C:
		}
		t.Stop()
	}
	if s.status != websocket.StatusNormalClosure || s.reason != "" {
		s.log.Debug("closing session", "status", int(s.status), "reason", s.reason)
	}
	_ = s.conn.Close(s.status, s.reason)
	cancel()
	_ = g.Wait()
	s.cleanup()
}

// cleanup releases what the reader held; run calls it after the reader ended.
func (s *session) cleanup() {
	for ch := range s.subs {
		s.dropSub(ch)
	}
	if s.presence {
		s.srv.presence.remove(s)
		s.presence = false
	}
}

// readLoop reads and handles client messages, one per WebSocket message,
// until the connection fails or the session ends. Commands run in g.
func (s *session) readLoop(ctx context.Context, g *errgroup.Group) error {
	lim := &frame.Limits{MaxMessageBytes: int(s.srv.cfg.r.clientMessageBytes)}
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			return err
		}
		m, err := frame.DecodeClient(b, s.proto, lim)
		if err != nil {
			f := classify(err)
			s.srv.m.protoError(linkDashboard, f.code)
			if f.code == 400 && s.authed {
				// Decodable but invalid: the request fails, the connection stays.
				if err := s.replyError(&m, err); err != nil {
					return err
				}
				continue
			}
			s.end(f.status, f.msg, false)
			return nil
		}
		if !s.authed && m.Op != frame.OpAuth {
			s.srv.m.protoError(linkDashboard, 401)
			s.end(websocket.StatusPolicyViolation, "auth must be the first message", false)
			return nil
		}
		if err := s.handle(ctx, g, &m); err != nil {
			return err
		}
		select {
		case <-s.closing:
			return nil
		default:
		}
	}
}

// handle serves one decoded client message.
func (s *session) handle(ctx context.Context, g *errgroup.Group, m *frame.ClientMessage) error {
	switch m.Op {
	case frame.OpAuth:
		id, err := s.srv.auth.Authenticate(ctx, Credentials{Token: m.Token, Request: s.req})
		if err == nil && !id.canView() {
			err = fmt.Errorf("%w: role %s may not use the dashboard link", ErrForbidden, id.Role)
		}
		if err != nil {
			f := classify(err)
			s.srv.m.protoError(linkDashboard, f.code)
			s.end(websocket.StatusPolicyViolation, "authentication failed", false)
			return nil
		}
		if !s.authed && s.authTimer != nil && !s.authTimer.Stop() {
			return nil // too late: the deadline already ended the session
		}
		s.ident, s.authed = id, true
		return s.reply(&frame.OK{ID: m.ID})
	case frame.OpPing:
		return s.reply(&frame.Pong{ID: m.ID})
	case frame.OpSub:
		return s.subscribe(ctx, m)
	case frame.OpUnsub:
		return s.unsubscribe(m)
	case frame.OpDevices:
		return s.devices(ctx, m)
	case frame.OpCmd:
		return s.command(ctx, g, m)
	}
	return s.replyError(m, errorf(400, "unknown op %q", m.Op))
}

// reply queues one message for the client.
func (s *session) reply(msg frame.ServerMessage) error {
	b, err := frame.AppendServer(nil, msg, s.proto)
	if err != nil {
		return fmt.Errorf("hubd: encode %s: %w", msg.ServerOp(), err)
	}
	s.enqueue(b)
	return nil
}

// replyError answers m with an error reply; the connection stays open.
func (s *session) replyError(m *frame.ClientMessage, err error) error {
	f := classify(err)
	if f.code == 0 {
		f.code = 503
		s.log.Warn("request failed", "op", m.Op, "error", err)
	}
	return s.reply(&frame.ErrorReply{ID: m.ID, HasID: m.HasID, Code: f.code, Message: f.msg})
}

// writeLoop writes what is queued, coalesced, until the session ends. When
// the session ends with flush set it writes what is left first.
func (s *session) writeLoop(ctx context.Context) {
	typ := websocket.MessageText
	if s.proto == frame.ProtoCBOR {
		typ = websocket.MessageBinary
	}
	m := s.srv.m
	writes := m.writes.WithLabelValues(protoName(s.proto))
	written := m.writeBytes.WithLabelValues(protoName(s.proto))
	var items [][]byte
	var buf []byte
	write := func() bool {
		wctx, cancel := context.WithTimeout(ctx, s.srv.cfg.r.writeTimeout)
		err := s.conn.Write(wctx, typ, buf)
		cancel()
		if err != nil {
			if wctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				m.slowConsumers.WithLabelValues(slowWriteTimeout).Inc()
				s.end(websocket.StatusTryAgainLater, "slow consumer: write timed out", false)
			}
			return false
		}
		writes.Inc()
		written.Add(float64(len(buf)))
		buf = buf[:0]
		return true
	}
	drain := func() bool {
		for {
			items = s.q.take(items[:0])
			if len(items) == 0 {
				return true
			}
			for i, b := range items {
				if len(buf) > 0 && len(buf)+len(b) > maxWriteBytes {
					if !write() {
						return false
					}
				}
				if len(buf) > 0 && s.proto == frame.ProtoJSON {
					buf = append(buf, '\n')
				}
				buf = append(buf, b...)
				items[i] = nil
			}
			if !write() {
				return false
			}
		}
	}
	for {
		select {
		case <-s.q.wake:
			if !drain() {
				return
			}
		case <-s.closing:
			if s.flush {
				drain()
			}
			return
		case <-ctx.Done():
			return
		}
	}
}
