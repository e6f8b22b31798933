package hubd_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// pipeListener is a net.Listener of in-memory connections, so that a hub
// can run inside a synctest bubble (real sockets are not durably blocking).
type pipeListener struct {
	conns     chan net.Conn
	closeOnce sync.Once
	done      chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial is an http.Transport DialContext.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// TestAuthMessageStopsDeadline: a dashboard that authenticates with the
// auth message is not closed when auth_timeout passes afterwards, and one
// that does not is closed at the deadline (1008).
func TestAuthMessageStopsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		auth := tokenAuth{"viewer": {Role: hubd.RoleViewer, Subject: "v"}}
		srv, err := hubd.New(&hubd.Config{HubID: "hub-t", Limits: &hubd.LimitsConfig{AuthTimeout: "10s", IdleTimeout: "0s"}}, // the clients below do not read while they wait: no pings,
			&hubd.Options{Logger: testLogger(t), Authenticator: auth})
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, ln) }()
		hc := &http.Client{Transport: &http.Transport{DialContext: ln.dial}}
		dial := func() *websocket.Conn {
			c, _, err := websocket.Dial(ctx, "ws://hub/v1/ws", &websocket.DialOptions{HTTPClient: hc, Subprotocols: []string{frame.SubprotocolJSON}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		authed, silent := dial(), dial()
		rpc := func(c *websocket.Conn, m frame.ClientMessage) (frame.ServerMessage, error) {
			b, err := frame.AppendClient(nil, &m, frame.ProtoJSON)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return nil, err
			}
			_, b, err = c.Read(ctx)
			if err != nil {
				return nil, err
			}
			ms, err := frame.DecodeServer(b, frame.ProtoJSON, nil)
			if err != nil || len(ms) != 1 {
				t.Fatalf("reply %q: %v", b, err)
			}
			return ms[0], nil
		}
		if r, err := rpc(authed, frame.ClientMessage{Op: frame.OpAuth, ID: 1, HasID: true, Token: "viewer"}); err != nil {
			t.Fatal(err)
		} else if _, ok := r.(*frame.OK); !ok {
			t.Fatalf("auth: %T %+v", r, r)
		}

		silentEnd := make(chan error, 1)
		go func() { _, _, err := silent.Read(ctx); silentEnd <- err }()

		time.Sleep(time.Minute) // six auth deadlines, on the bubble's clock
		synctest.Wait()

		if r, err := rpc(authed, frame.ClientMessage{Op: frame.OpPing, ID: 2, HasID: true}); err != nil {
			t.Fatalf("authenticated session after the auth deadline: %v", err)
		} else if p, ok := r.(*frame.Pong); !ok || p.ID != 2 {
			t.Fatalf("ping: %T %+v", r, r)
		}
		if err := <-silentEnd; websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("session without auth: %v, want close 1008", err)
		}
		authed.CloseNow()
		silent.CloseNow()
		cancel()
		if err := <-served; err != nil {
			t.Fatal(err)
		}
	})
}
