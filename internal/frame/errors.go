package frame

import (
	"errors"
	"fmt"
)

// Default limits (PROTOCOL.md, "Limits").
const (
	DefaultAgentMessageBytes  = 1 << 20  // agent link, per WebSocket message
	DefaultClientMessageBytes = 64 << 10 // dashboard link, client → hub message
	DefaultServerMessageBytes = 16 << 20 // dashboard link, hub → client batch (DecodeServer)
	DefaultMaxNesting         = 16
	DefaultMaxArrayLen        = 65536
	DefaultMaxMapPairs        = 1024
)

// DefaultAgentLimits returns the limits DecodeAgent applies for a nil or
// zero *Limits.
func DefaultAgentLimits() Limits { return (*Limits)(nil).withDefaults(DefaultAgentMessageBytes) }

// DefaultClientLimits returns the limits DecodeClient applies for a nil or
// zero *Limits.
func DefaultClientLimits() Limits { return (*Limits)(nil).withDefaults(DefaultClientMessageBytes) }

// withDefaults returns a copy of l with every zero (or negative) field set to
// its default; msgBytes is the default of MaxMessageBytes for the link.
func (l *Limits) withDefaults(msgBytes int) Limits {
	var c Limits
	if l != nil {
		c = *l
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = msgBytes
	}
	if c.MaxNesting <= 0 {
		c.MaxNesting = DefaultMaxNesting
	}
	if c.MaxArrayLen <= 0 {
		c.MaxArrayLen = DefaultMaxArrayLen
	}
	if c.MaxMapPairs <= 0 {
		c.MaxMapPairs = DefaultMaxMapPairs
	}
	return c
}

// Error codes of the dashboard error reply and the agent ERROR message
// (PROTOCOL.md, "Error codes").
const (
	CodeBadRequest      = 400
	CodeUnauthenticated = 401
	CodeForbidden       = 403
	CodeNotFound        = 404
	CodeTimeout         = 408
	CodeTooLarge        = 413
	CodeRateLimited     = 429
	CodeUnavailable     = 503
)

// WebSocket close codes used by both links (PROTOCOL.md, "Close codes";
// RFC 6455, section 7.4.1).
const (
	CloseNormal       = 1000
	CloseGoingAway    = 1001 // hub draining
	CloseUndecodable  = 1007 // not CBOR/JSON at all
	ClosePolicy       = 1008 // auth, permission, protocol order, invalid message
	CloseTooBig       = 1009 // over a size limit
	CloseInternal     = 1011
	CloseSlowConsumer = 1013 // send queue over its limit; reconnect and recover
)

// ErrorCode maps a decoder error to the protocol (PROTOCOL.md, "Decode
// errors"): the code of the ERROR message or error reply to send, 0 for
// none, and the WebSocket close code. ErrInvalid is 400 and 1008,
// ErrTooLarge 413 and 1009, ErrUndecodable 0 and 1007 (nothing is sent, the
// connection closes). Any other non-nil error gives 0 and 1011; nil gives 0
// and 1000. On the dashboard link an invalid client message after auth gets
// an error reply with the code and the connection stays open; the close
// code applies to the agent link and to messages before auth.
func ErrorCode(err error) (code uint16, closeCode int) {
	switch {
	case err == nil:
		return 0, CloseNormal
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge, CloseTooBig
	case errors.Is(err, ErrInvalid):
		return CodeBadRequest, ClosePolicy
	case errors.Is(err, ErrUndecodable):
		return 0, CloseUndecodable
	}
	return 0, CloseInternal
}

// wireError is a decode error: its text is the whole message, and it wraps
// one of the three sentinels.
type wireError struct {
	sentinel error
	msg      string // without the "frame: " prefix
}

func (e *wireError) Error() string { return "frame: " + e.msg }
func (e *wireError) Unwrap() error { return e.sentinel }

func errf(sentinel error, format string, args ...any) error {
	return &wireError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error { return errf(ErrInvalid, format, args...) }

// within prefixes a decode error with where it happened ("FRAME: key 3
// (samples)"); other errors are returned unchanged.
func within(err error, format string, args ...any) error {
	var we *wireError
	if errors.As(err, &we) {
		return &wireError{sentinel: we.sentinel, msg: fmt.Sprintf(format, args...) + ": " + we.msg}
	}
	return err
}

var errNotFinite = errors.New("not a finite number")
