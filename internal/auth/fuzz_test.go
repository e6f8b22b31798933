package auth_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/auth"
)

// FuzzVerify: no token text panics Verify; every failure wraps one of the
// sentinels; an accepted token has a known role and, for devices, a subject.
func FuzzVerify(f *testing.F) {
	edPriv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keyA := auth.Key{ID: "a", HMACSecret: secretA}
	keyEd := auth.Key{ID: "ed", Private: edPriv}
	v, err := auth.NewVerifier([]auth.Key{keyA, {ID: "ed", Public: edPriv.Public().(ed25519.PublicKey)}},
		&auth.VerifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []auth.Claims{
		claims("pi-7", auth.RoleDevice, now.Add(time.Hour)),
		claims("ops", auth.RoleDashboard, now.Add(time.Hour)),
		claims("pi-7", auth.RoleDevice, now.Add(-time.Hour)),
	} {
		for _, k := range []auth.Key{keyA, keyEd} {
			tok, err := auth.Mint(k, c)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok.Reveal())
		}
	}
	f.Add("")
	f.Add("not.a.jwt")
	f.Add("eyJhbGciOiJub25lIiwia2lkIjoiYSJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := v.Verify(auth.Token(s))
		if err != nil {
			if !errors.Is(err, auth.ErrNoToken) && !errors.Is(err, auth.ErrExpired) && !errors.Is(err, auth.ErrInvalid) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		switch id.Role {
		case auth.RoleDevice:
			if id.Subject == "" {
				t.Fatal("device identity without a subject")
			}
		case auth.RoleDashboard, auth.RoleBridge, auth.RoleAdmin:
		default:
			t.Fatalf("accepted role %q", id.Role)
		}
	})
}
