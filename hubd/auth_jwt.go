package hubd

import (
	"context"
	"fmt"

	"github.com/edgeplane/edgeplane/internal/auth"
)

// AuthConfig turns on token authentication (docs/SECURITY.md): JWTs signed
// with one of these keys, found by the token's kid header.
//
//	auth {
//	  key "2026-12" { hmac_secret = env("EDGEPLANE_HMAC_2026_12") }
//	  key "ops"     { ed25519_public_key = file("/etc/edgeplane/ops.pub") }
//	}
//
// To rotate, add the new key, mint new tokens with it, and remove the old
// key once the tokens it signed have expired.
type AuthConfig struct {
	// Keys verify tokens; at least one. HMAC secrets have at least 32 bytes.
	Keys []auth.KeyConfig `hcl:"key,block"`
	// Leeway is the clock skew allowed on exp and nbf. Default "30s".
	Leeway string `hcl:"leeway,optional"`
}

// NewTokenAuthenticator returns an Authenticator that verifies bearer
// tokens with v and maps their roles onto the hub's:
//
//   - device: RoleDevice with Subject = sub; the agent link's HELLO must
//     name that device (else ERROR 403).
//   - dashboard: RoleViewer, or RoleOperator when cmd is not empty, scoped
//     by ch (channels it may read) and cmd (devices it may command).
//   - bridge: RoleViewer of every channel; it commands nothing.
//   - admin: RoleOperator of every channel and device.
//
// Peers without a token are passed to tokenless (the allow_anonymous rule,
// typically); nil refuses them with ErrUnauthenticated.
func NewTokenAuthenticator(v *auth.Verifier, tokenless Authenticator) Authenticator {
	return &tokenAuthenticator{v: v, tokenless: tokenless}
}

type tokenAuthenticator struct {
	v         *auth.Verifier
	tokenless Authenticator
}

func (a *tokenAuthenticator) Authenticate(ctx context.Context, cred Credentials) (Identity, error) {
	if cred.Token == "" {
		if a.tokenless == nil {
			return Identity{}, fmt.Errorf("%w: no token", ErrUnauthenticated)
		}
		return a.tokenless.Authenticate(ctx, cred)
	}
	// The error texts of Verify never contain the token.
	ai, err := a.v.Verify(auth.Token(cred.Token))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	return identityOf(ai), nil
}

// identityOf maps a verified token's holder onto the hub's roles.
func identityOf(ai *auth.Identity) Identity {
	switch ai.Role {
	case auth.RoleDevice:
		return Identity{Role: RoleDevice, Subject: ai.Subject}
	case auth.RoleDashboard:
		r := RoleViewer
		if len(ai.Commands) > 0 {
			r = RoleOperator
		}
		return Identity{Role: r, Subject: ai.Subject, Scope: ai}
	case auth.RoleBridge:
		return Identity{Role: RoleViewer, Subject: ai.Subject}
	case auth.RoleAdmin:
		return Identity{Role: RoleOperator, Subject: ai.Subject}
	}
	// Verify accepts no other role; this is a dashboard that may do nothing.
	return Identity{Role: RoleViewer, Subject: ai.Subject, Scope: &auth.Identity{}}
}
