package bridge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/internal/testenv"
)

const haConfigSrc = `
region = "eu"
id = "bridge-eu"
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
}
export "home" {
  select {
    labels = { site = "berlin" }
  }
  payload = "json"
  homeassistant {}
}
export "bare" {
  devices = ["pi-7"]
  topic = "v/<device>/<sensor>"
  payload = "value"
  meta = false
}
`

// TestExportJSON: frames of a selected device reach an MQTT subscriber as
// one json (and one bare value) message per sample, with the origin
// property; device metadata, availability and Home Assistant discovery
// configs arrive retained; a device outside the selection is not exported.
func TestExportJSON(t *testing.T) {
	mq := testenv.StartMosquitto(t, nil)
	bp := newSharedBackplane(t)
	a := newAgent(t, bp, "pi-7", "eu", map[string]string{"site": "berlin"})
	other := newAgent(t, bp, "pi-8", "eu", map[string]string{"site": "paris"})
	a.send(t)
	other.send(t)
	sub := startSubscriber(t, mq.Addr(), "test-sub", "edgeplane/#", "homeassistant/#", "v/#")
	startBridge(t, bp, mq.Addr(), haConfigSrc)

	want := map[string]string{
		"edgeplane/eu/pi-7/t":             `{"value":20.01,"t":1733318400010.123,"seq":1,"unit":"°C"}`,
		"edgeplane/eu/pi-7/rh":            `{"value":40.5,"t":1733318400010.623,"seq":1,"unit":"%"}`,
		"v/pi-7/t":                        `20.01`,
		"v/pi-7/rh":                       `40.5`,
		"edgeplane/eu/pi-7/$availability": "online",
		"edgeplane/eu/pi-7/$meta":         `{"id":"pi-7","region":"eu","online":true,"hub":"hub-eu","labels":{"site":"berlin"},"sensors":[{"id":"t","kind":"temperature","unit":"°C","period_ms":1000,"resolution":0.01},{"id":"rh","kind":"humidity","unit":"%","period_ms":1000,"resolution":0.1}],"agent_version":"v1.2.3"}`,
	}
	retained := map[string]bool{"edgeplane/eu/pi-7/$availability": true, "edgeplane/eu/pi-7/$meta": true}
	got := map[string]msg{}
	ha := map[string]string{}
	for len(got) < len(want) || len(ha) < 2 {
		m := sub.next(t)
		if m.Origin != "eu" {
			t.Fatalf("%s: origin property %q, want eu", m.Topic, m.Origin)
		}
		if strings.Contains(m.Topic, "pi-8") {
			t.Fatalf("pi-8 is not selected but %s was exported", m.Topic)
		}
		if strings.HasPrefix(m.Topic, "homeassistant/") {
			ha[m.Topic] = m.Payload
			if !m.Retain {
				t.Errorf("%s not retained", m.Topic)
			}
			continue
		}
		got[m.Topic] = m
	}
	for topic, payload := range want {
		m, ok := got[topic]
		if !ok {
			t.Errorf("no message on %s", topic)
			continue
		}
		if m.Payload != payload {
			t.Errorf("%s:\n got %s\nwant %s", topic, m.Payload, payload)
		}
		if m.Retain != retained[topic] {
			t.Errorf("%s: retain %v", topic, m.Retain)
		}
	}
	checkGolden(t, "homeassistant.golden", ha)

	// A later frame follows live.
	a.send(t)
	for {
		m := sub.next(t)
		if m.Topic == "edgeplane/eu/pi-7/t" {
			if want := `{"value":20.02,"t":1733318400020.123,"seq":2,"unit":"°C"}`; m.Payload != want {
				t.Fatalf("live frame %s, want %s", m.Payload, want)
			}
			break
		}
	}
}

// checkGolden compares topic -> JSON payload with testdata/<name>, written
// as one "topic\n<indented json>\n" block per topic in topic order. With
// EDGEPLANE_UPDATE_GOLDEN=1 it rewrites the file.
func checkGolden(t *testing.T, name string, msgs map[string]string) {
	t.Helper()
	topics := make([]string, 0, len(msgs))
	for k := range msgs {
		topics = append(topics, k)
	}
	sort.Strings(topics)
	var b strings.Builder
	for _, topic := range topics {
		var v any
		if err := json.Unmarshal([]byte(msgs[topic]), &v); err != nil {
			t.Fatalf("%s: %v: %s", topic, err, msgs[topic])
		}
		ind, _ := json.MarshalIndent(v, "", "  ")
		b.WriteString(topic + "\n" + string(ind) + "\n")
	}
	path := filepath.Join("testdata", name)
	if os.Getenv("EDGEPLANE_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("golden %s differs:\n got:\n%s\nwant:\n%s", path, b.String(), want)
	}
}
