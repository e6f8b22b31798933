package bridge_test

import (
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/config"
)

func TestExampleConfig(t *testing.T) {
	c, err := bridge.LoadConfig("../configs/bridge.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu" || len(c.Exports) != 2 || len(c.Imports) != 3 || c.MQTT.InFlight != 64 {
		t.Fatalf("decoded %+v", c)
	}
	if got := c.Exports[1].MetaTopic; got != "edgeplane/<region>/<device>/$meta" {
		t.Fatalf("default meta topic %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	const head = "region = \"eu\"\nbackplane {\n  addrs = [\"127.0.0.1:1\"]\n}\nmqtt {\n  urls = [\"mqtt://127.0.0.1:2\"]\n}\n"
	cases := []struct {
		name, src, want string
	}{
		{"nothing to do", head, "b.hcl:1:1: invalid export: the bridge has nothing to do"},
		{"bad region", strings.Replace(head, `"eu"`, `"e u"`, 1) + "export \"x\" {}\n", `b.hcl:1:10: invalid region: "e u" must match`},
		{"no urls", "region = \"eu\"\nbackplane {\n  addrs = [\"a:1\"]\n}\nmqtt {\n  urls = []\n}\nexport \"x\" {}\n", "b.hcl:6:10: invalid urls: at least one broker URL"},
		{"bad scheme", strings.Replace(head, "mqtt://", "http://", 1) + "export \"x\" {}\n", `b.hcl:6:10: invalid urls: "http://127.0.0.1:2": scheme "http"`},
		{"bad payload", head + "export \"x\" {\n  payload = \"xml\"\n}\n", `b.hcl:9:13: invalid payload: "xml" is not one of json, value, cbor`},
		{"cbor with sensor", head + "export \"x\" {\n  payload = \"cbor\"\n  topic = \"a/<device>/<sensor>\"\n}\n", "b.hcl:10:11: invalid topic: a cbor export sends whole frames"},
		{"json without sensor", head + "export \"x\" {\n  topic = \"a/<device>\"\n}\n", "b.hcl:9:11: invalid topic: a json export sends one message per sensor"},
		{"unknown placeholder", head + "export \"x\" {\n  topic = \"a/<dev>/<sensor>\"\n}\n", "unknown placeholder <dev>"},
		{"ha with cbor", head + "export \"x\" {\n  payload = \"cbor\"\n  homeassistant {}\n}\n", "b.hcl:9:13: invalid payload: Home Assistant reads json or value"},
		{"import no device", head + "import \"x\" {\n  topic = \"a/b\"\n  sensor = \"t\"\n}\n", "invalid device: the topic has no <device>"},
		{"import json without fields", head + "import \"x\" {\n  topic = \"tele/<device>/SENSOR\"\n  payload = \"json\"\n}\n", "invalid field: a json import has either field blocks"},
		{"import bad filter", head + "import \"x\" {\n  topic = \"a/#/b\"\n}\n", "# must be the last level"},
		{"field without path", head + "import \"x\" {\n  topic = \"tele/<device>/SENSOR\"\n  payload = \"json\"\n  field \"t\" {\n    path = \"\"\n  }\n}\n", "b.hcl:12:12: invalid path: empty path"},
		{"bad duration", head + "poll_interval = \"often\"\nexport \"x\" {}\n", `b.hcl:8:17: invalid poll_interval: "often" is not a duration`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.ParseConfig("b.hcl", []byte(tc.src))
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
