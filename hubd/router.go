package hubd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// maxRemoteCommands bounds the commands of other hubs running here at once.
const maxRemoteCommands = 256

// hubMsg is a message between hubs over backplane.Hubs: a command for a
// device this hub holds, or the result going back to the asking hub.
type hubMsg struct {
	Type   string         `json:"t"` // "cmd" or "result"
	From   string         `json:"from,omitempty"`
	Req    string         `json:"req"`
	Device string         `json:"device,omitempty"`
	Name   string         `json:"name,omitempty"`
	Args   map[string]any `json:"args,omitempty"`
	OK     bool           `json:"ok,omitempty"`
	Result any            `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
	Code   int            `json:"code,omitempty"` // a protocol error instead of a RESULT (404, 408)
	Millis int64          `json:"ms,omitempty"`   // how long the asking hub waits
}

// hubRouter is the CommandRouter over a backplane with the Hubs
// capability: it finds the device's hub through presence, sends it the
// command, and waits for the result sent back to this hub.
type hubRouter struct {
	srv  *Server
	hubs backplane.Hubs
	log  hclog.Logger

	sem chan struct{} // commands of other hubs running here
	wg  sync.WaitGroup

	mu      sync.Mutex // guards pending
	pending map[string]chan hubMsg
}

func newHubRouter(srv *Server, hubs backplane.Hubs) *hubRouter {
	return &hubRouter{
		srv:     srv,
		hubs:    hubs,
		log:     srv.log.Named("router"),
		sem:     make(chan struct{}, maxRemoteCommands),
		pending: make(map[string]chan hubMsg),
	}
}

// RouteCommand implements CommandRouter.
func (r *hubRouter) RouteCommand(ctx context.Context, device string, cmd *frame.Command) (*frame.Result, error) {
	d, ok, err := r.srv.bp.Device(ctx, device)
	if err != nil {
		return nil, backplaneError(err)
	}
	if !ok || !d.Online || d.Hub == "" || d.Hub == r.srv.cfg.HubID {
		return nil, fmt.Errorf("%w: %s", ErrDeviceOffline, device)
	}
	m := hubMsg{Type: "cmd", From: r.srv.cfg.HubID, Req: cmd.ID, Device: device, Name: cmd.Name, Args: cmd.Args}
	if dl, ok := ctx.Deadline(); ok {
		m.Millis = max(time.Until(dl).Milliseconds(), 1)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, errorf(400, "command cannot be encoded: %v", err)
	}
	ch := make(chan hubMsg, 1)
	r.mu.Lock()
	r.pending[cmd.ID] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, cmd.ID)
		r.mu.Unlock()
	}()
	if err := r.hubs.SendToHub(ctx, d.Hub, b); err != nil {
		if errors.Is(err, backplane.ErrNoHub) {
			return nil, fmt.Errorf("%w: %s (its hub %s is gone)", ErrDeviceOffline, device, d.Hub)
		}
		return nil, backplaneError(err)
	}
	select {
	case res := <-ch:
		switch res.Code {
		case 0:
			return &frame.Result{ID: cmd.ID, OK: res.OK, Result: res.Result, Error: res.Error}, nil
		case 404:
			return nil, fmt.Errorf("%w: %s", ErrDeviceOffline, device)
		default:
			return nil, errorf(res.Code, "%s", res.Error)
		}
	case <-ctx.Done():
		return nil, errorf(408, "command %s timed out", cmd.Name)
	}
}

// handle takes one hub message; it must not block (backplane.HubHandler).
func (r *hubRouter) handle(data []byte) {
	var m hubMsg
	if err := json.Unmarshal(data, &m); err != nil {
		r.log.Warn("undecodable hub message", "error", err)
		return
	}
	switch m.Type {
	case "result":
		r.mu.Lock()
		ch, ok := r.pending[m.Req]
		delete(r.pending, m.Req)
		r.mu.Unlock()
		if ok {
			ch <- m
		}
	case "cmd":
		select {
		case r.sem <- struct{}{}:
		default:
			r.reply(m, hubMsg{Type: "result", Req: m.Req, Code: 429, Error: "too many commands in flight on the device's hub"})
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() { <-r.sem }()
			r.runRemote(m)
		}()
	}
}

// runRemote runs a command another hub sent for a device connected here.
func (r *hubRouter) runRemote(m hubMsg) {
	timeout := r.srv.cfg.r.commandTimeout
	if m.Millis > 0 {
		timeout = min(timeout, time.Duration(m.Millis)*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(r.srv.stopCtx, timeout)
	defer cancel()
	out := hubMsg{Type: "result", Req: m.Req}
	a := r.srv.agent(m.Device)
	if a == nil {
		out.Code, out.Error = 404, "device offline"
	} else if res, err := a.command(ctx, &frame.Command{ID: m.Req, Name: m.Name, Args: m.Args}); err != nil {
		f := classify(err)
		if errors.Is(err, ErrDeviceOffline) {
			f.code = 404
		}
		out.Code, out.Error = max(f.code, 400), f.msg
	} else {
		out.OK, out.Result, out.Error = res.OK, res.Result, res.Error
	}
	r.reply(m, out)
}

func (r *hubRouter) reply(to hubMsg, out hubMsg) {
	b, err := json.Marshal(out)
	if err != nil {
		r.log.Warn("cannot encode command result", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.hubs.SendToHub(ctx, to.From, b); err != nil {
		r.log.Warn("cannot send command result", "hub", to.From, "error", err)
	}
}

// HandleHubMessage implements backplane.HubHandler.
func (h handler) HandleHubMessage(data []byte) {
	if h.router != nil {
		h.router.handle(data)
	}
}

var _ backplane.HubHandler = handler{}
