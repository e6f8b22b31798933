package hubd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

func TestSecurityConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := tlsutil.SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, cert, 0o600)
	os.WriteFile(keyFile, key, 0o600)
	t.Setenv("EDGEPLANE_TEST_HMAC", "0123456789abcdef0123456789abcdef")
	cases := []struct {
		name, src, want string // want "": valid
	}{
		{"all set", `
allowed_origins = ["dash.example.com"]
auth {
  key "a" { hmac_secret = env("EDGEPLANE_TEST_HMAC") }
  key "b" { ed25519_public_key = "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=" }
}
tls {
  cert_file = "` + certFile + `"
  key_file  = "` + keyFile + `"
}
limits {
  frames_per_second = -1
  connections_per_ip = 10
  idle_timeout = "0s"
}`, ""},
		{"short secret", "auth {\n  key \"a\" { hmac_secret = \"short\" }\n}", "use at least 32"},
		{"no keys", `auth {}`, "at least one key"},
		{"same kid twice", `auth {
  key "a" { hmac_secret = env("EDGEPLANE_TEST_HMAC") }
  key "a" { hmac_secret = env("EDGEPLANE_TEST_HMAC") }
}`, "given twice"},
		{"unset env", "auth {\n  key \"a\" { hmac_secret = env(\"EDGEPLANE_TEST_UNSET\") }\n}", "EDGEPLANE_TEST_UNSET is not set"},
		{"tls without key", `tls { cert_file = "` + certFile + `" }`, "key_file"},
		{"tls missing files", `tls {
  cert_file = "/nonexistent/c.pem"
  key_file = "/nonexistent/k.pem"
}`, "invalid cert_file"},
		{"bad origin", `allowed_origins = ["["]`, "invalid allowed_origins"},
		{"frames out of range", `limits { frames_per_second = -5 }`, ""}, // any negative: off
		{"short handshake", `limits { handshake_timeout = "1ms" }`, "invalid handshake_timeout"},
		{"short idle", `limits { idle_timeout = "1ms" }`, "invalid idle_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := hubd.ParseConfig("s.hcl", []byte(tc.src))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := hubd.New(c, nil); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
