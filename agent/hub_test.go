package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// testHub speaks the hub side of the agent link (PROTOCOL.md, "Agent
// link") with internal/frame, one connection at a time, driven by the test.
type testHub struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *hubConn
	// reject answers upgrades with this HTTP status while non-zero.
	mu     sync.Mutex
	reject int
	open   []*hubConn
}

// hubConn is one agent connection after its HELLO.
type hubConn struct {
	t       *testing.T
	c       *websocket.Conn
	auth    string // Authorization header of the upgrade
	hello   *frame.Hello
	pending []frame.Message
	done    chan struct{}
	once    sync.Once
}

func newTestHub(t *testing.T) *testHub {
	h := &testHub{t: t, conns: make(chan *hubConn, 4)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() {
		h.closeAll()
		h.srv.Close()
	})
	return h
}

// closeAll drops every agent connection.
func (h *testHub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.open {
		c.close()
	}
}

func (h *testHub) url() string { return "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/v1/agent" }

func (h *testHub) setReject(status int) {
	h.mu.Lock()
	h.reject = status
	h.mu.Unlock()
}

func (h *testHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	reject := h.reject
	h.mu.Unlock()
	if reject != 0 {
		http.Error(w, "rejected by the test", reject)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{frame.SubprotocolAgent}})
	if err != nil {
		return
	}
	hc := &hubConn{t: h.t, c: c, auth: r.Header.Get("Authorization"), done: make(chan struct{})}
	h.mu.Lock()
	h.open = append(h.open, hc)
	h.mu.Unlock()
	defer hc.close()
	m := hc.next()
	hello, ok := m.(*frame.Hello)
	if !ok {
		h.t.Errorf("first message %T, want HELLO", m)
		return
	}
	hc.hello = hello
	h.conns <- hc
	<-hc.done
}

// accept waits for the next agent connection.
func (h *testHub) accept() *hubConn {
	h.t.Helper()
	select {
	case c := <-h.conns:
		return c
	case <-time.After(10 * time.Second):
		h.t.Fatal("no agent connected within 10 s")
		return nil
	}
}

func (hc *hubConn) close() {
	hc.once.Do(func() {
		hc.c.CloseNow()
		close(hc.done)
	})
}

func (hc *hubConn) send(m frame.Message) {
	hc.t.Helper()
	b, err := frame.AppendAgent(nil, m)
	if err != nil {
		hc.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hc.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		hc.t.Fatalf("hub write: %v", err)
	}
}

// next returns the agent's next message, waiting at most 10 s. It returns
// nil (after reporting) when the connection fails.
func (hc *hubConn) next() frame.Message {
	hc.t.Helper()
	m, err := hc.nextErr()
	if err != nil {
		hc.t.Fatalf("hub read: %v", err)
	}
	return m
}

func (hc *hubConn) nextErr() (frame.Message, error) {
	for len(hc.pending) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		typ, b, err := hc.c.Read(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		if typ != websocket.MessageBinary {
			hc.t.Fatalf("agent sent a %v message", typ)
		}
		msgs, err := frame.DecodeAgent(b, nil)
		if err != nil {
			hc.t.Fatalf("agent sent something undecodable: %v", err)
		}
		hc.pending = msgs
	}
	m := hc.pending[0]
	hc.pending = hc.pending[1:]
	return m, nil
}

// frame returns the next FRAME, failing on anything else.
func (hc *hubConn) frame() *frame.Frame {
	hc.t.Helper()
	m := hc.next()
	f, ok := m.(*frame.Frame)
	if !ok {
		hc.t.Fatalf("agent sent %T, want a FRAME", m)
	}
	return f
}

// command sends a COMMAND and returns its RESULT, collecting the frames
// that arrive meanwhile.
func (hc *hubConn) command(id, name string, args map[string]any) (*frame.Result, []*frame.Frame) {
	hc.t.Helper()
	hc.send(&frame.Command{ID: id, Name: name, Args: args})
	var frames []*frame.Frame
	for {
		switch m := hc.next().(type) {
		case *frame.Frame:
			frames = append(frames, m)
		case *frame.Result:
			if m.ID != id {
				hc.t.Fatalf("RESULT for %q, want %q", m.ID, id)
			}
			return m, frames
		default:
			hc.t.Fatalf("agent sent %T while a command was pending", m)
		}
	}
}

// startAgent runs an agent on src (HCL, with HUB replaced by the hub's
// URL) until stop is called or the test ends; stop returns Run's error.
func startAgent(t *testing.T, h *testHub, src string) (a *agent.Agent, stop func() error) {
	t.Helper()
	a = newAgent(t, strings.ReplaceAll(src, "HUB", h.url()), &agent.Options{HTTPClient: &http.Client{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		// Drop the connections first: a hub that no longer reads would
		// keep the agent's closing handshake waiting for its timeout.
		h.closeAll()
		_ = stop()
	})
	return a, stop
}
