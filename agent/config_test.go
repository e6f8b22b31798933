package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/internal/config"
)

// The example configs are loaded here so that they never rot.
func TestExampleConfigs(t *testing.T) {
	for _, name := range []string{"agent.hcl", "agent-demo.hcl"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := agent.LoadConfig(filepath.Join("..", "configs", name))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := agent.New(cfg, nil); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Sensors) == 0 || cfg.Hub == nil {
				t.Fatalf("decoded %+v", cfg)
			}
		})
	}
	cfg, _ := agent.LoadConfig("../configs/agent-demo.hcl")
	want := map[string]string{"temperature": "sim.sine", "humidity": "sim.walk", "door": "sim.toggle", "cpu": "soc.thermal"}
	for _, s := range cfg.Sensors {
		if want[s.Name] != s.Driver {
			t.Errorf("demo sensor %s %s", s.Driver, s.Name)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 || cfg.DeviceID != "demo-pi" || len(cfg.Actuators) != 1 || cfg.Actuators[0].Name != "relay1" {
		t.Errorf("demo config: missing %v, device %q, actuators %+v", want, cfg.DeviceID, cfg.Actuators)
	}
}

func TestConfigErrors(t *testing.T) {
	const hub = "hub {\n  url = \"ws://127.0.0.1:8080/v1/agent\"\n}\n"
	cases := []struct {
		name, src, want string
	}{
		{"missing device", hub, `a.hcl:1:1: Missing required argument: The argument "device_id" is required`},
		{"bad device id", "device_id = \"my pi\"\n" + hub, `a.hcl:1:13: invalid device_id: "my pi" is not a device id`},
		{"no hub", "device_id = \"pi\"\n", "invalid hub: a hub block is required"},
		{"bad url", "device_id = \"pi\"\nhub {\n  url = \"http://x\"\n}\n", `a.hcl:3:9: invalid url: "http://x" is not a ws:// or wss:// URL`},
		{"bad flush", "device_id = \"pi\"\nflush_interval = \"soon\"\n" + hub, `a.hcl:2:18: invalid flush_interval: "soon" is not a duration`},
		{"max_samples range", "device_id = \"pi\"\nmax_samples = 20000\n" + hub, "a.hcl:2:15: invalid max_samples: 20000 is out of range; it must be between 1 and 10000"},
		{"unknown key", "device_id = \"pi\"\nflush = \"1s\"\n" + hub, `a.hcl:2:1: Unsupported argument: An argument named "flush" is not expected here`},
		{"log level", "device_id = \"pi\"\nlog_level = \"loud\"\n" + hub, `a.hcl:2:13: invalid log_level: "loud" is not one of debug, error, info, trace, warn`},
		{"unknown driver", "device_id = \"pi\"\n" + hub + "sensor \"sim.sin\" \"t\" {}\n", `a.hcl:5:22: invalid driver: unknown sensor driver "sim.sin"; known drivers: `},
		{"misspelt driver key", "device_id = \"pi\"\n" + hub + "sensor \"sim.sine\" \"t\" {\n  amplitud = 2\n}\n", `a.hcl:6:14: invalid amplitud: Unsupported argument: An argument named "amplitud" is not expected here. Did you mean "amplitude"?`},
		{"driver key type", "device_id = \"pi\"\n" + hub + "sensor \"sim.walk\" \"w\" {\n  min = \"low\"\n}\n", "a.hcl:6:9: invalid min: Unsuitable value type"},
		{"driver duration", "device_id = \"pi\"\n" + hub + "sensor \"sim.sine\" \"t\" {\n  period = \"-1s\"\n}\n", "a.hcl:6:12: invalid period: -1s is out of range"},
		{"walk bounds", "device_id = \"pi\"\n" + hub + "sensor \"sim.walk\" \"w\" {\n  min = 5\n  max = 1\n}\n", "a.hcl:7:9: invalid max: 1 must be above min 5"},
		{"duplicate sensor", "device_id = \"pi\"\n" + hub + "sensor \"sim.sine\" \"t\" {}\nsensor \"sim.walk\" \"t\" {}\n", `a second sensor named "t"`},
		{"actuator key", "device_id = \"pi\"\n" + hub + "actuator \"sim.relay\" \"r\" {\n  safe_level = \"maybe\"\n}\n", "a.hcl:6:16: invalid safe_level: Unsuitable value type"},
		{"spool sync", "device_id = \"pi\"\n" + hub + "spool {\n  dir = \"/tmp/x\"\n  sync = \"sometimes\"\n}\n", `a.hcl:7:10: invalid sync: "sometimes" is not "always", "never" or a duration`},
		{"queue size", "device_id = \"pi\"\n" + hub + "queue {\n  max_bytes = \"12 parsecs\"\n}\n", "a.hcl:6:15: invalid max_bytes"},
		{"token and file", "device_id = \"pi\"\nhub {\n  url = \"ws://h/v1/agent\"\n  token = \"a\"\n  token_file = \"/nonexistent\"\n}\n", "a.hcl:5:16: invalid token_file: give token or token_file, not both"},
		{"reconnect bounds", "device_id = \"pi\"\nhub {\n  url = \"ws://h/v1/agent\"\n  reconnect_min = \"10s\"\n  reconnect_max = \"1s\"\n}\n", "a.hcl:5:19: invalid reconnect_max: 1s is below reconnect_min 10s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := agent.ParseConfig("a.hcl", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
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

func TestConfigInGo(t *testing.T) {
	// A Config written in Go gets the same checks, without positions.
	cfg := &agent.Config{
		DeviceID: "pi-1",
		Hub:      &agent.HubConfig{URL: "ws://127.0.0.1:1/v1/agent", ReconnectMin: "soon"},
		Sensors:  []agent.SensorConfig{{Driver: "sim.sine", Name: "t"}, {Driver: "gpio.magic", Name: "x"}},
	}
	_, err := agent.New(cfg, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`hub reconnect_min: "soon" is not a duration`, `sensor "gpio.magic" "x" driver: unknown sensor driver`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nwant it to contain %s", err, want)
		}
	}
	cfg.Hub.ReconnectMin = ""
	cfg.Sensors = cfg.Sensors[:1]
	if _, err := agent.New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.New(cfg, &agent.Options{HubURLs: []string{"tcp://nope"}}); err == nil {
		t.Fatal("a bad -hub-url was accepted")
	}
}

func TestTokenFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDGEPLANE_TEST_AGENT_TOKEN", "from-env")
	for name, src := range map[string]string{
		"file": "device_id = \"pi\"\nhub {\n  url = \"HUB\"\n  token_file = \"" + tok + "\"\n}\n",
		"env":  "device_id = \"pi\"\nhub {\n  url = \"HUB\"\n  token = env(\"EDGEPLANE_TEST_AGENT_TOKEN\")\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := newTestHub(t)
			startAgent(t, h, src)
			if c := h.accept(); c.auth != "Bearer from-"+name {
				t.Fatalf("Authorization %q", c.auth)
			}
		})
	}
}

func TestPeriphDriversFailByName(t *testing.T) {
	// No GPIO or I²C here: the error names what was asked for. An optional
	// sensor is skipped instead.
	cases := []struct {
		name, block, want string
	}{
		{"gpio input", `sensor "gpio" "button" { pin = "GPIO_NOPE" }`, `"GPIO_NOPE"`},
		{"bme280", `sensor "bme280" "env" { bus = "bus-nope" }`, `"bus-nope"`},
		{"gpio output", `actuator "gpio" "pump" { pin = "GPIO_NOPE" }`, `"GPIO_NOPE"`},
		{"optional skipped", `sensor "bme280" "env" {
  bus = "bus-nope"
  optional = true
}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, hubless+"sensor \"sim.sine\" \"s\" {}\n"+tc.block+"\n", nil)
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			err := a.Run(ctx)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error naming %s", err, tc.want)
			}
			t.Log(err)
		})
	}
}
