package hubd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Role is what an authenticated peer is allowed to be.
type Role string

// Roles.
const (
	// RoleAnonymous is a peer let in without a token (allow_anonymous):
	// it may do everything, on loopback only unless configured otherwise.
	RoleAnonymous Role = "anonymous"
	// RoleDevice may open the agent link for the device named by Subject.
	RoleDevice Role = "device"
	// RoleViewer may read channels and presence.
	RoleViewer Role = "viewer"
	// RoleOperator may read and send commands.
	RoleOperator Role = "operator"
)

// Identity is who a peer is.
type Identity struct {
	Role    Role
	Subject string // device id for RoleDevice; user or token name otherwise
	// Scope narrows what a viewer or operator may read and command (a
	// dashboard token's ch and cmd patterns). nil: the role alone decides.
	Scope Scope
}

// Scope is what a token allows beyond its role; *auth.Identity is one.
// Implementations are safe for concurrent use.
type Scope interface {
	// CanRead reports whether the holder may subscribe to channel ch
	// ("dev/<device id>" or "presence").
	CanRead(ch string) bool
	// CanCommand reports whether the holder may send commands to device.
	CanCommand(device string) bool
}

// canRead reports whether id may subscribe to ch (and see the device of
// a "dev/" channel in presence and the devices reply).
func (id Identity) canRead(ch string) bool {
	return id.canView() && (id.Scope == nil || id.Scope.CanRead(ch))
}

// canCommandDevice reports whether id may send commands to device.
func (id Identity) canCommandDevice(device string) bool {
	return id.canCommand() && (id.Scope == nil || id.Scope.CanCommand(device))
}

// canAgent reports whether id may open the agent link.
func (id Identity) canAgent() bool { return id.Role == RoleAnonymous || id.Role == RoleDevice }

// canView reports whether id may use the dashboard link.
func (id Identity) canView() bool {
	return id.Role == RoleAnonymous || id.Role == RoleViewer || id.Role == RoleOperator
}

// canCommand reports whether id may send commands to devices.
func (id Identity) canCommand() bool { return id.Role == RoleAnonymous || id.Role == RoleOperator }

// Credentials is what a peer presents.
type Credentials struct {
	// Token is the bearer token: from the Authorization header of the
	// upgrade request, or from a dashboard's auth message. "" = none.
	Token string
	// Request is the WebSocket upgrade request (for its remote and local
	// addresses); never nil.
	Request *http.Request
}

// Authentication failures. An Authenticator returns errors wrapping one of
// them; hubd maps ErrUnauthenticated to 401 and ErrForbidden to 403 (before
// the upgrade) or to close 1008 (in a dashboard's auth message).
var (
	ErrUnauthenticated = errors.New("hubd: not authenticated")
	ErrForbidden       = errors.New("hubd: not allowed")
)

// Authenticator decides who a peer is. It is called for every agent and
// dashboard connection, from many goroutines at once.
type Authenticator interface {
	Authenticate(ctx context.Context, cred Credentials) (Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, cred Credentials) (Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, cred Credentials) (Identity, error) {
	return f(ctx, cred)
}

// anonymousAuth is the default Authenticator: it knows no tokens; without
// a token it lets peers in as RoleAnonymous when anonymous access is
// allowed and the connection arrived on a loopback address (or
// allow_anonymous_nonloopback is set).
type anonymousAuth struct {
	allow       bool
	nonLoopback bool
}

func (a anonymousAuth) Authenticate(_ context.Context, cred Credentials) (Identity, error) {
	if cred.Token != "" {
		return Identity{}, fmt.Errorf("%w: this hub has no token authentication configured", ErrUnauthenticated)
	}
	if !a.allow {
		return Identity{}, ErrUnauthenticated
	}
	if !a.nonLoopback && !arrivedOnLoopback(cred.Request) {
		return Identity{}, ErrUnauthenticated
	}
	return Identity{Role: RoleAnonymous}, nil
}

// arrivedOnLoopback reports whether r came in on a loopback local address.
func arrivedOnLoopback(r *http.Request) bool {
	if r == nil {
		return false
	}
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	tcp, ok := la.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authStatus maps an authentication error to its HTTP status.
func authStatus(err error) int {
	if errors.Is(err, ErrForbidden) {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}
