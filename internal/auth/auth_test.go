package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/internal/auth"
)

var (
	now     = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	secretA = []byte("0123456789abcdef0123456789abcdef")
	secretB = []byte("fedcba9876543210fedcba9876543210")
)

func claims(sub string, role auth.Role, exp time.Time) auth.Claims {
	return auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(exp)},
		Role:             role,
	}
}

func mint(t *testing.T, k auth.Key, c auth.Claims) auth.Token {
	t.Helper()
	tok, err := auth.Mint(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	keyA := auth.Key{ID: "a", HMACSecret: secretA}
	keyEd := auth.Key{ID: "ed", Private: edPriv}
	v, err := auth.NewVerifier([]auth.Key{keyA, {ID: "ed", Public: edPriv.Public().(ed25519.PublicKey)}},
		&auth.VerifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	future := now.Add(time.Hour)
	cases := []struct {
		name    string
		tok     auth.Token
		wantErr error
		role    auth.Role
	}{
		{"hmac device", mint(t, keyA, claims("pi-7", auth.RoleDevice, future)), nil, auth.RoleDevice},
		{"ed25519 dashboard", mint(t, keyEd, claims("ops", auth.RoleDashboard, future)), nil, auth.RoleDashboard},
		{"no token", "", auth.ErrNoToken, ""},
		{"expired", mint(t, keyA, claims("pi-7", auth.RoleDevice, now.Add(-time.Hour))), auth.ErrExpired, ""},
		{"within leeway", mint(t, keyA, claims("pi-7", auth.RoleDevice, now.Add(-10*time.Second))), nil, auth.RoleDevice},
		{"wrong secret", mint(t, auth.Key{ID: "a", HMACSecret: secretB}, claims("pi-7", auth.RoleDevice, future)), auth.ErrInvalid, ""},
		{"wrong ed25519 key", mint(t, auth.Key{ID: "ed", Private: otherPriv}, claims("x", auth.RoleAdmin, future)), auth.ErrInvalid, ""},
		{"unknown kid", mint(t, auth.Key{ID: "zz", HMACSecret: secretA}, claims("pi-7", auth.RoleDevice, future)), auth.ErrInvalid, ""},
		{"hmac under ed25519 kid", mint(t, auth.Key{ID: "ed", HMACSecret: secretA}, claims("pi-7", auth.RoleDevice, future)), auth.ErrInvalid, ""},
		{"unknown role", forge(t, keyA, `{"sub":"x","role":"root","exp":%d}`, future), auth.ErrInvalid, ""},
		{"device without sub", mint(t, keyA, claims("", auth.RoleDevice, future)), auth.ErrInvalid, ""},
		{"no exp", forge(t, keyA, `{"sub":"x","role":"admin"}`, future), auth.ErrInvalid, ""},
		{"garbage", "not.a.jwt", auth.ErrInvalid, ""},
		{"alg none", "eyJhbGciOiJub25lIiwia2lkIjoiYSJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.", auth.ErrInvalid, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.tok)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Role != tc.role {
				t.Fatalf("role = %q, want %q", id.Role, tc.role)
			}
		})
	}
}

// forge signs raw JSON claims, for shapes Mint refuses to make.
func forge(t *testing.T, k auth.Key, claimsFmt string, exp time.Time) auth.Token {
	t.Helper()
	raw := claimsFmt
	if strings.Contains(claimsFmt, "%d") {
		raw = fmt.Sprintf(claimsFmt, exp.Unix())
	}
	var m jwt.MapClaims
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	tk := jwt.NewWithClaims(jwt.SigningMethodHS256, m)
	tk.Header["kid"] = k.ID
	s, err := tk.SignedString(k.HMACSecret)
	if err != nil {
		t.Fatal(err)
	}
	return auth.Token(s)
}

func TestRotation(t *testing.T) {
	old := auth.Key{ID: "2026-11", HMACSecret: secretA}
	next := auth.Key{ID: "2026-12", HMACSecret: secretB}
	opts := &auth.VerifierOptions{Now: func() time.Time { return now }}
	tokOld := mint(t, old, claims("pi-1", auth.RoleDevice, now.Add(time.Hour)))
	tokNew := mint(t, next, claims("pi-1", auth.RoleDevice, now.Add(time.Hour)))

	both, _ := auth.NewVerifier([]auth.Key{old, next}, opts)
	for _, tok := range []auth.Token{tokOld, tokNew} {
		if _, err := both.Verify(tok); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	after, _ := auth.NewVerifier([]auth.Key{next}, opts)
	if _, err := after.Verify(tokOld); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("old key dropped, old token: err = %v", err)
	}
	if _, err := after.Verify(tokNew); err != nil {
		t.Fatal(err)
	}
}

func TestPermissions(t *testing.T) {
	dev := &auth.Identity{Subject: "pi-7", Role: auth.RoleDevice}
	dash := &auth.Identity{Subject: "ops", Role: auth.RoleDashboard, Channels: []string{"dev/berlin-*", "presence"}, Commands: []string{"berlin-relay?"}}
	admin := &auth.Identity{Role: auth.RoleAdmin}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"device publishes itself", dev.CanPublish("pi-7"), true},
		{"device publishes another", dev.CanPublish("pi-8"), false},
		{"device reads", dev.CanRead("dev/pi-7"), false},
		{"dashboard reads inside ch", dash.CanRead("dev/berlin-3"), true},
		{"dashboard reads presence", dash.CanRead("presence"), true},
		{"dashboard reads outside ch", dash.CanRead("dev/paris-1"), false},
		{"dashboard publishes", dash.CanPublish("berlin-3"), false},
		{"dashboard commands inside cmd", dash.CanCommand("berlin-relay1"), true},
		{"dashboard commands outside cmd", dash.CanCommand("berlin-3"), false},
		{"device commands", dev.CanCommand("pi-7"), false},
		{"admin everything", admin.CanRead("dev/x") && admin.CanCommand("x") && admin.CanPublish("x"), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestTokenRedacts(t *testing.T) {
	tok := auth.Token("eyJsecret.secret.secret")
	var sb strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &sb, JSONFormat: true})
	log.Info("hello", "token", tok)
	hclog.New(&hclog.LoggerOptions{Output: &sb}).Info("hello", "token", tok)
	j, _ := json.Marshal(map[string]any{"t": tok})
	for _, s := range []string{sb.String(), string(j), fmt.Sprint(tok), fmt.Sprintf("%v %s %q %#v", tok, tok, tok, tok)} {
		if strings.Contains(s, "secret") {
			t.Errorf("token leaked: %s", s)
		}
	}
	if tok.Reveal() != "eyJsecret.secret.secret" {
		t.Error("Reveal changed the token")
	}
}

func TestKeyConfig(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	cases := []struct {
		name string
		kc   auth.KeyConfig
		ok   bool
	}{
		{"hmac", auth.KeyConfig{ID: "a", HMACSecret: string(secretA)}, true},
		{"hmac base64", auth.KeyConfig{ID: "a", HMACSecret: base64.StdEncoding.EncodeToString(secretA), HMACSecretBase64: true}, true},
		{"short hmac", auth.KeyConfig{ID: "a", HMACSecret: "short"}, false},
		{"ed25519 public", auth.KeyConfig{ID: "e", Ed25519Public: base64.StdEncoding.EncodeToString(pub)}, true},
		{"ed25519 seed", auth.KeyConfig{ID: "e", Ed25519Private: base64.StdEncoding.EncodeToString(priv.Seed())}, true},
		{"both kinds", auth.KeyConfig{ID: "e", HMACSecret: string(secretA), Ed25519Public: base64.StdEncoding.EncodeToString(pub)}, false},
		{"none", auth.KeyConfig{ID: "e"}, false},
		{"bad base64", auth.KeyConfig{ID: "e", Ed25519Public: "***"}, false},
	}
	for _, tc := range cases {
		_, err := tc.kc.Key()
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
