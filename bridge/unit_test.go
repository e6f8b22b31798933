package bridge

import (
	"math"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func TestTemplateExpand(t *testing.T) {
	cases := []struct {
		tmpl, region, device, sensor, want string
	}{
		{"edgeplane/<region>/<device>/<sensor>", "eu", "pi-7", "t", "edgeplane/eu/pi-7/t"},
		{"<device>-<sensor>/x", "eu", "pi-7", "t", "pi-7-t/x"},
		{"s/<device>/<sensor>", "eu", "pi-7", "a/b+c#", "s/pi-7/a_b_c_"},
		{"plain/<device>", "eu", "d", "", "plain/d"},
	}
	for _, tc := range cases {
		tp, err := parseTemplate(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		if got := tp.expand(tc.region, tc.device, tc.sensor); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.tmpl, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a/+/<device>", "a/#", "a/<dev>", "a/<device"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	cases := []struct {
		pattern, filter, topic string
		ok                     bool
		want                   topicFields
	}{
		{"tele/<device>/SENSOR", "tele/+/SENSOR", "tele/kitchen/SENSOR", true, topicFields{device: "kitchen"}},
		{"tele/<device>/SENSOR", "tele/+/SENSOR", "tele/kitchen/STATE", false, topicFields{}},
		{"tele/<device>/SENSOR", "tele/+/SENSOR", "tele/kitchen/SENSOR/x", false, topicFields{}},
		{"shellies/<device>/sensor/<sensor>", "shellies/+/sensor/+", "shellies/h1/sensor/temperature", true, topicFields{device: "h1", sensor: "temperature"}},
		{"edgeplane/<region>/<device>", "edgeplane/+/+", "edgeplane/us/pi-9", true, topicFields{device: "pi-9", region: "us"}},
		{"a/+/<device>/#", "a/+/+/#", "a/x/d/1/2", true, topicFields{device: "d"}},
		{"a/+/<device>/#", "a/+/+/#", "a/x/d", true, topicFields{device: "d"}},
		{"a/<device>", "a/+", "a", false, topicFields{}},
	}
	for _, tc := range cases {
		p, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if f := p.filter(); f != tc.filter {
			t.Errorf("%s: filter %s, want %s", tc.pattern, f, tc.filter)
		}
		got, ok := p.match(tc.topic)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s on %s: %+v %v, want %+v %v", tc.pattern, tc.topic, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{"", "a/#/b", "a/x+/b", "$share/g/a", "a/<device>x"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPayloadFormats(t *testing.T) {
	cases := []struct {
		name  string
		v     frame.Value
		json  string
		value string
	}{
		{"rounded", frame.Rounded(20.8712, 0.01), `{"value":20.87,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "20.87"},
		{"whole at 0.1", frame.Rounded(21, 0.1), `{"value":21.0,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "21.0"},
		{"no resolution", frame.Float(0.1), `{"value":0.1,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "0.1"},
		{"int", frame.Int(-3), `{"value":-3,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "-3"},
		{"bool", frame.Bool(true), `{"value":true,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "true"},
		{"nan", frame.Float(math.NaN()), `{"value":null,"t":1733318400123.456,"seq":7,"unit":"°C"}`, "NaN"},
	}
	const t0 = 1733318400_123_456_789
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendJSONSample(nil, tc.v, t0, 7, "°C")); got != tc.json {
				t.Errorf("json %s, want %s", got, tc.json)
			}
			if got := string(appendValue(nil, tc.v, false)); got != tc.value {
				t.Errorf("value %s, want %s", got, tc.value)
			}
		})
	}
	if got := string(appendJSONSample(nil, frame.Int(1), 5_000, 1, "")); got != `{"value":1,"t":0.005,"seq":1}` {
		t.Errorf("small t, no unit: %s", got)
	}
}

func TestReadings(t *testing.T) {
	tasmota := &ImportConfig{Topic: "tele/<device>/SENSOR", Payload: PayloadJSON, Fields: []FieldConfig{
		{Sensor: "t", Path: "BME280.Temperature", Resolution: 0.1},
		{Sensor: "on", Path: "POWER"},
		{Sensor: "first", Path: "list.0"},
	}}
	single := &ImportConfig{Topic: "x/<device>/<sensor>", Payload: PayloadValue}
	path := &ImportConfig{Topic: "x/<device>", Payload: PayloadJSON, Sensor: "v", Path: "data.value"}
	cases := []struct {
		name    string
		cfg     *ImportConfig
		tf      topicFields
		payload string
		want    map[string]float64
		wantErr bool
	}{
		{"tasmota", tasmota, topicFields{device: "k"}, `{"BME280":{"Temperature":21.34},"POWER":"ON","list":[5,6]}`, map[string]float64{"t": 21.3, "on": 1, "first": 5}, false},
		{"tasmota partial", tasmota, topicFields{device: "k"}, `{"POWER":"OFF"}`, map[string]float64{"on": 0}, false},
		{"tasmota none", tasmota, topicFields{device: "k"}, `{"Other":1}`, map[string]float64{}, false},
		{"not json", tasmota, topicFields{device: "k"}, `BME280`, nil, true},
		{"bare", single, topicFields{device: "k", sensor: "t"}, " 21.5\n", map[string]float64{"t": 21.5}, false},
		{"bare int", single, topicFields{device: "k", sensor: "n"}, "42", map[string]float64{"n": 42}, false},
		{"bare on", single, topicFields{device: "k", sensor: "relay"}, "on", map[string]float64{"relay": 1}, false},
		{"bare junk", single, topicFields{device: "k", sensor: "t"}, "warm", nil, true},
		{"path", path, topicFields{device: "k"}, `{"data":{"value":"3.5"}}`, map[string]float64{"v": 3.5}, false},
		{"path missing", path, topicFields{device: "k"}, `{"data":{}}`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newImportSpec(tc.cfg, "eu")
			if err != nil {
				t.Fatal(err)
			}
			samples, infos, err := s.readings(tc.tf, []byte(tc.payload))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error, samples %+v", samples)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(samples) != len(tc.want) || len(infos) != len(samples) {
				t.Fatalf("samples %+v, want %v", samples, tc.want)
			}
			for _, smp := range samples {
				if w, ok := tc.want[smp.Sensor]; !ok || smp.Value.Float64() != w {
					t.Errorf("%s = %v, want %v", smp.Sensor, smp.Value.Float64(), w)
				}
			}
		})
	}
}

func TestSelects(t *testing.T) {
	e, err := newExportSpec(&ExportConfig{Topic: "a/<device>/<sensor>", MetaTopic: "a/<device>/m", AvailabilityTopic: "a/<device>/a",
		Devices: []string{"pi-1"}, Selects: []SelectConfig{{Labels: map[string]string{"site": "berlin", "floor": "2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := newExportSpec(&ExportConfig{Topic: "a/<device>/<sensor>", MetaTopic: "a/<device>/m", AvailabilityTopic: "a/<device>/a"})
	cases := []struct {
		id     string
		labels map[string]string
		want   bool
	}{
		{"pi-1", nil, true},
		{"pi-2", map[string]string{"site": "berlin", "floor": "2", "x": "y"}, true},
		{"pi-3", map[string]string{"site": "berlin"}, false},
		{"pi-4", map[string]string{"site": "paris", "floor": "2"}, false},
	}
	for _, tc := range cases {
		d := deviceState(tc.id, tc.labels)
		if got := e.selects(d); got != tc.want {
			t.Errorf("%s %v: selects %v, want %v", tc.id, tc.labels, got, tc.want)
		}
		if !all.selects(d) {
			t.Errorf("an export without devices or select must take %s", tc.id)
		}
	}
}
