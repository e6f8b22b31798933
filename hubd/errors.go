package hubd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// ErrServerClosed is returned by Serve when it is called after Shutdown.
var ErrServerClosed = errors.New("hubd: server closed")

// protoError is a protocol failure with its code from DESIGN.md's table
// (400 bad request, 401, 403, 404, 408, 413, 429, 503).
type protoError struct {
	code int
	msg  string
}

func (e *protoError) Error() string { return fmt.Sprintf("hubd: %d %s", e.code, e.msg) }

// errorf returns a *protoError.
func errorf(code int, format string, args ...any) error {
	return &protoError{code: code, msg: fmt.Sprintf(format, args...)}
}

// failure is how an error ends up on the wire: the code of the ERROR (agent
// link) or error reply (dashboard link), 0 when none is sent, and the
// WebSocket close status when the connection has to end.
type failure struct {
	code   int
	msg    string
	status websocket.StatusCode
}

// classify is the one place that maps errors to codes and close statuses
// (PROTOCOL.md, "Error codes" and "WebSocket close codes"): undecodable
// bytes close with 1007 and no ERROR, too large is 413 and 1009, any other
// protocol error is its code and 1008. Backplane unavailability is 503.
func classify(err error) failure {
	var pe *protoError
	if code, status := frame.ErrorCode(err); status != frame.CloseInternal && status != frame.CloseNormal {
		return failure{code: int(code), msg: err.Error(), status: websocket.StatusCode(status)}
	}
	switch {
	case errors.As(err, &pe):
		f := failure{code: pe.code, msg: pe.msg, status: websocket.StatusPolicyViolation}
		if pe.code == 413 {
			f.status = websocket.StatusMessageTooBig
		}
		return f
	case errors.Is(err, ErrForbidden):
		return failure{code: 403, msg: err.Error(), status: websocket.StatusPolicyViolation}
	case errors.Is(err, ErrUnauthenticated):
		return failure{code: 401, msg: err.Error(), status: websocket.StatusPolicyViolation}
	case errors.Is(err, backplane.ErrUnavailable):
		return failure{code: 503, msg: "backplane unavailable", status: websocket.StatusPolicyViolation}
	}
	return failure{code: 0, msg: "internal error", status: websocket.StatusInternalError}
}

// closeReason trims a close reason to what fits a control frame.
func closeReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	// Cut on a rune boundary.
	for i := max; i > 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return s[:i]
		}
	}
	return s[:max]
}

// isNormalEnd reports errors that end a connection in the ordinary way
// (peer closed, hub closed it, context over): they are not logged as errors.
func isNormalEnd(err error) bool {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, ErrServerClosed) {
		return true
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		return true
	}
	return false
}
