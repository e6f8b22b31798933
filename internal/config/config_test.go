package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/config"
)

type sensor struct {
	Driver string `hcl:"driver,label"`
	Name   string `hcl:"name,label"`
	Period string `hcl:"period,optional"`
}

type testConfig struct {
	Listen  string   `hcl:"listen,optional"`
	Flush   string   `hcl:"flush_interval,optional"`
	Max     int      `hcl:"max_samples,optional"`
	Secret  string   `hcl:"secret,optional"`
	Sensors []sensor `hcl:"sensor,block"`

	flush   time.Duration
	periods map[string]time.Duration
}

func (c *testConfig) Validate(v *config.Checker) {
	c.flush = v.Duration("flush_interval", c.Flush, time.Second, time.Millisecond, time.Minute)
	c.Max = v.Int("max_samples", c.Max, 100, 1, 10000)
	c.periods = map[string]time.Duration{}
	for _, s := range c.Sensors {
		c.periods[s.Name] = v.Block("sensor", s.Driver, s.Name).Duration("period", s.Period, time.Second, time.Millisecond, 0)
	}
}

func TestParse(t *testing.T) {
	t.Setenv("EDGEPLANE_TEST_SECRET", "s3cret")
	src := `
listen = "127.0.0.1:8080"
flush_interval = "250ms"
secret = env("EDGEPLANE_TEST_SECRET")
sensor "sim.sine" "t" {
  period = "100ms"
}
`
	var c testConfig
	if err := config.Parse("a.hcl", []byte(src), &c); err != nil {
		t.Fatal(err)
	}
	if c.flush != 250*time.Millisecond || c.Max != 100 || c.Secret != "s3cret" || c.periods["t"] != 100*time.Millisecond {
		t.Fatalf("decoded %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown key", "lisen = \"x\"\n", `a.hcl:1:1: Unsupported argument: An argument named "lisen" is not expected here. Did you mean "listen"?`},
		{"wrong type", "max_samples = \"many\"\n", "a.hcl:1:16: Unsuitable value type: Unsuitable value: a number is required"},
		{"bad duration", "\n\nflush_interval = \"soon\"\n", `a.hcl:3:18: invalid flush_interval: "soon" is not a duration`},
		{"out of range", "max_samples = 0\nmax_samples2 = 1\n", `a.hcl:2:1: Unsupported argument`},
		{"range", "max_samples = 20000\n", "a.hcl:1:15: invalid max_samples: 20000 is out of range; it must be between 1 and 10000"},
		{"nested", "sensor \"sim.sine\" \"t\" {\n  period = \"-1s\"\n}\n", "a.hcl:2:12: invalid period: -1s is too small"},
		{"syntax", "listen = \n", "a.hcl:1:10: Invalid expression"},
		{"missing env", "secret = env(\"EDGEPLANE_TEST_NOT_SET\")\n", "environment variable EDGEPLANE_TEST_NOT_SET is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := config.Parse("a.hcl", []byte(tc.src), &c)
			if err == nil {
				t.Fatalf("no error")
			}
			if !config.IsError(err) {
				t.Fatalf("not a config error: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{"10": 10, "64MiB": 64 << 20, "1 KB": 1000, "2GiB": 2 << 30} {
		got, err := config.ParseBytes(s)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "MiB", "10 parsecs", "99999999999999999999"} {
		if _, err := config.ParseBytes(s); err == nil {
			t.Errorf("ParseBytes(%q): no error", s)
		}
	}
}
