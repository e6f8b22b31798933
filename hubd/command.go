package hubd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// CommandRouter carries a command to a device connected to another hub and
// its result back (the Redis backplane provides one). A hub tries its own
// agents first and asks the router only for devices it does not hold.
type CommandRouter interface {
	// RouteCommand delivers cmd to device and waits for the agent's RESULT
	// until ctx ends. It returns an error wrapping ErrDeviceOffline when no
	// hub holds the device.
	RouteCommand(ctx context.Context, device string, cmd *frame.Command) (*frame.Result, error)
}

// ErrDeviceOffline is returned for a command to a device no hub holds (404).
var ErrDeviceOffline = errors.New("hubd: device offline or unknown")

// Command sends a command to device and waits for its result until ctx
// ends (then 408). Only devices connected to this hub are reached here;
// others go through the CommandRouter, if any.
func (srv *Server) Command(ctx context.Context, device string, cmd *frame.Command) (*frame.Result, error) {
	if a := srv.agent(device); a != nil {
		return a.command(ctx, cmd)
	}
	if srv.router != nil {
		return srv.router.RouteCommand(ctx, device, cmd)
	}
	return nil, fmt.Errorf("%w: %s", ErrDeviceOffline, device)
}

// command writes a COMMAND to the agent and waits for its RESULT.
func (a *agentConn) command(ctx context.Context, cmd *frame.Command) (*frame.Result, error) {
	ch := make(chan *frame.Result, 1)
	a.mu.Lock()
	if a.ended {
		a.mu.Unlock()
		return nil, fmt.Errorf("%w: %s disconnected", ErrDeviceOffline, a.hello.DeviceID)
	}
	a.pending[cmd.ID] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.pending, cmd.ID)
		a.mu.Unlock()
	}()
	b, err := frame.AppendAgent(nil, cmd)
	if err != nil {
		return nil, errorf(400, "command cannot be encoded: %v", err)
	}
	if err := a.write(ctx, b); err != nil {
		if ctx.Err() != nil {
			return nil, errorf(408, "command %s timed out", cmd.Name)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrDeviceOffline, a.hello.DeviceID, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: %s disconnected", ErrDeviceOffline, a.hello.DeviceID)
		}
		return r, nil
	case <-ctx.Done():
		return nil, errorf(408, "command %s timed out", cmd.Name)
	}
}

// onResult hands a RESULT to the command waiting for it; late or unknown
// results are dropped.
func (a *agentConn) onResult(r *frame.Result) {
	a.mu.Lock()
	ch, ok := a.pending[r.ID]
	delete(a.pending, r.ID)
	a.mu.Unlock()
	if ok {
		ch <- r
	} else {
		a.log.Debug("result for no pending command", "command_id", r.ID)
	}
}

// command handles the cmd op: the command runs in g, so that the reader
// goes on; the reply is result, or error 403, 404, 408, 429 or 503.
func (s *session) command(ctx context.Context, g *errgroup.Group, m *frame.ClientMessage) error {
	if !s.ident.canCommand() {
		return s.replyError(m, errorf(403, "role %s may not send commands", s.ident.Role))
	}
	if !frame.ValidDeviceID(m.Device) {
		return s.replyError(m, errorf(400, "malformed device id %q", m.Device))
	}
	if !s.ident.canCommandDevice(m.Device) {
		return s.replyError(m, errorf(403, "not allowed to command %s", m.Device))
	}
	select {
	case s.cmds <- struct{}{}:
	default:
		return s.replyError(m, errorf(429, "at most %d commands in flight per connection", maxCommandsInFlight))
	}
	req := *m
	g.Go(func() error {
		defer func() { <-s.cmds }()
		cctx, cancel := context.WithTimeout(ctx, s.srv.cfg.r.commandTimeout)
		defer cancel()
		res, err := s.srv.Command(cctx, req.Device, &frame.Command{ID: newCommandID(), Name: req.Name, Args: req.Args})
		mc := s.srv.m.commands
		switch {
		case err == nil:
			if res.OK {
				mc.WithLabelValues(cmdOK).Inc()
			} else {
				mc.WithLabelValues(cmdFailed).Inc()
			}
			return s.reply(&frame.CmdResult{ID: req.ID, OK: res.OK, Result: res.Result, Error: res.Error})
		case errors.Is(err, ErrDeviceOffline):
			mc.WithLabelValues(cmdOffline).Inc()
			return s.replyError(&req, errorf(404, "device %s is offline or unknown", req.Device))
		default:
			var pe *protoError
			if errors.As(err, &pe) && pe.code == 408 {
				mc.WithLabelValues(cmdTimeout).Inc()
			} else {
				mc.WithLabelValues(cmdFailed).Inc()
			}
			return s.replyError(&req, err)
		}
	})
	return nil
}

// newCommandID returns a random command id.
func newCommandID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
