package hubd_test

import (
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/config"
)

// TestExampleConfig keeps configs/hubd.hcl loading.
func TestExampleConfig(t *testing.T) {
	c, err := hubd.LoadConfig("../configs/hubd.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || !c.AllowAnonymous || c.Region != "local" || c.Backplane.Type != "memory" {
		t.Fatalf("config %+v", c)
	}
	srv, err := hubd.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Config().HubID == "" {
		t.Fatal("no default hub id")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"anonymous on all interfaces", "listen = \"0.0.0.0:8080\"\nallow_anonymous = true\n",
			"a.hcl:2:19: invalid allow_anonymous: anonymous access is only allowed on a loopback listen address"},
		{"anonymous on an empty host", "listen = \":8080\"\nallow_anonymous = true\n", "invalid allow_anonymous"},
		{"nonloopback without anonymous", "allow_anonymous_nonloopback = true\n", "has no effect without allow_anonymous"},
		{"bad listen", "listen = \"8080\"\n", "a.hcl:1:10: invalid listen"},
		{"unknown key", "lissten = \"x\"\n", "Did you mean \"listen\"?"},
		{"bad backplane type", "backplane {\n  type = \"etcd\"\n}\n", "a.hcl:2:10: invalid type: \"etcd\" is not one of memory, redis"},
		{"redis without addrs", "backplane {\n  type = \"redis\"\n}\n", "needs a redis"},
		{"bad duration", "limits {\n  auth_timeout = \"soon\"\n}\n", "a.hcl:2:18: invalid auth_timeout"},
		{"bad size", "limits {\n  send_queue_bytes = \"lots\"\n}\n", "a.hcl:2:22: invalid send_queue_bytes"},
		{"queue too small", "limits {\n  send_queue_messages = 2\n}\n", "out of range"},
		{"log level", "log_level = \"loud\"\n", "invalid log_level"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hubd.ParseConfig("a.hcl", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !config.IsError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestConfigGo(t *testing.T) {
	// A Config built in Go goes through the same checks in New.
	_, err := hubd.New(&hubd.Config{Listen: "0.0.0.0:1", AllowAnonymous: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid allow_anonymous") {
		t.Fatalf("New: %v", err)
	}
	// The caller's struct is left untouched.
	c := &hubd.Config{}
	if _, err := hubd.New(c, nil); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "" || c.Backplane != nil {
		t.Fatalf("New changed the caller's config: %+v", c)
	}
	// Anonymous access on a non-loopback address, when asked for loudly.
	if _, err := hubd.New(&hubd.Config{Listen: "0.0.0.0:1", AllowAnonymous: true, AllowAnonymousNonLoopback: true}, nil); err != nil {
		t.Fatal(err)
	}
}
