package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/auth"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func TestToken(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hubd.hcl")
	t.Setenv("EDGEPLANE_TEST_HMAC", testSecret)
	if err := os.WriteFile(cfg, []byte(`auth {
  key "2026-12" { hmac_secret = env("EDGEPLANE_TEST_HMAC") }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v, err := auth.NewVerifier([]auth.Key{{ID: "2026-12", HMACSecret: []byte(testSecret)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, id *auth.Identity)
	}{
		{"device", []string{"-config", cfg, "-kid", "2026-12", "-sub", "pi-7", "-role", "device", "-ttl", "720h"}, "", func(t *testing.T, id *auth.Identity) {
			if id.Role != auth.RoleDevice || id.Subject != "pi-7" || !id.CanPublish("pi-7") || id.CanPublish("pi-8") {
				t.Fatalf("identity %+v", id)
			}
			if d := id.Expires.Sub(now); d < 719*time.Hour || d > 721*time.Hour {
				t.Fatalf("expires in %v", d)
			}
		}},
		{"dashboard", []string{"-config", cfg, "-kid", "2026-12", "-sub", "ops", "-role", "dashboard", "-ch", "dev/*", "-ch", "presence", "-cmd", "pi-*,relay-1"}, "", func(t *testing.T, id *auth.Identity) {
			if !id.CanRead("dev/x") || !id.CanRead("presence") || !id.CanCommand("pi-3") || !id.CanCommand("relay-1") || id.CanCommand("relay-2") {
				t.Fatalf("identity %+v", id)
			}
		}},
		{"unknown kid", []string{"-config", cfg, "-kid", "nope", "-role", "admin"}, `no key "nope"`, nil},
		{"device without sub", []string{"-config", cfg, "-kid", "2026-12", "-role", "device"}, "needs -sub", nil},
		{"ch on a device token", []string{"-config", cfg, "-kid", "2026-12", "-sub", "pi-7", "-role", "device", "-ch", "dev/*"}, "dashboard tokens only", nil},
		{"unknown role", []string{"-config", cfg, "-kid", "2026-12", "-role", "root"}, "unknown role", nil},
		{"no config", []string{"-kid", "2026-12", "-role", "admin"}, "required", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), append([]string{"token"}, tc.args...), &out, &errOut, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if out.Len() != 0 {
					t.Fatalf("printed %q on error", out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := v.Verify(auth.Token(strings.TrimSpace(out.String())))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, id)
		})
	}
}
