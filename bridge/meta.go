package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// Availability payloads (Home Assistant's defaults).
const (
	availableOnline  = "online"
	availableOffline = "offline"
)

// deviceMeta is the retained metadata message of a device.
type deviceMeta struct {
	ID           string             `json:"id"`
	Region       string             `json:"region"`
	Online       bool               `json:"online"`
	Hub          string             `json:"hub,omitempty"`
	Labels       map[string]string  `json:"labels"`
	Sensors      []frame.SensorInfo `json:"sensors"`
	AgentVersion string             `json:"agent_version,omitempty"`
}

// haConfig is a Home Assistant MQTT discovery config of one sensor
// (https://www.home-assistant.io/integrations/sensor.mqtt/).
type haConfig struct {
	Name              string   `json:"name"`
	UniqueID          string   `json:"unique_id"`
	ObjectID          string   `json:"object_id"`
	StateTopic        string   `json:"state_topic"`
	ValueTemplate     string   `json:"value_template,omitempty"`
	UnitOfMeasurement string   `json:"unit_of_measurement,omitempty"`
	DeviceClass       string   `json:"device_class,omitempty"`
	StateClass        string   `json:"state_class,omitempty"`
	SuggestedDisplay  *int     `json:"suggested_display_precision,omitempty"`
	AvailabilityTopic string   `json:"availability_topic"`
	PayloadAvailable  string   `json:"payload_available"`
	PayloadNotAvail   string   `json:"payload_not_available"`
	Device            haDevice `json:"device"`
}

type haDevice struct {
	Identifiers   []string `json:"identifiers"`
	Name          string   `json:"name"`
	Manufacturer  string   `json:"manufacturer"`
	Model         string   `json:"model"`
	SWVersion     string   `json:"sw_version,omitempty"`
	SuggestedArea string   `json:"suggested_area,omitempty"`
}

// haDeviceClass maps a sensor kind to its Home Assistant device class, ""
// when there is none.
func haDeviceClass(kind string) string {
	switch k := strings.ToLower(kind); k {
	case "temperature", "humidity", "pressure", "illuminance", "voltage", "current", "power",
		"energy", "pm25", "pm10", "battery", "frequency", "distance", "moisture", "gas", "signal_strength":
		return k
	case "light":
		return "illuminance"
	case "co2", "carbon_dioxide":
		return "carbon_dioxide"
	case "rssi":
		return "signal_strength"
	}
	return ""
}

// haID makes s a Home Assistant node or object id: [a-zA-Z0-9_-].
func haID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// deviceMessages returns the retained messages export e publishes for d:
// its metadata, its availability and, with Home Assistant, one discovery
// config per sensor.
func (b *Bridge) deviceMessages(e *exportSpec, d backplane.DeviceState) []*paho.Publish {
	region := b.cfg.Region
	labels := d.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	sensors := d.Sensors
	if sensors == nil {
		sensors = []frame.SensorInfo{}
	}
	meta, _ := json.Marshal(deviceMeta{
		ID: d.ID, Region: region, Online: d.Online, Hub: d.Hub,
		Labels: labels, Sensors: sensors, AgentVersion: d.AgentVersion,
	})
	avail := availableOffline
	if d.Online {
		avail = availableOnline
	}
	availTopic := e.availability.expand(region, d.ID, "")
	msgs := []*paho.Publish{
		b.message(e.metaTopic.expand(region, d.ID, ""), meta, "application/json", true),
		b.message(availTopic, []byte(avail), "text/plain", true),
	}
	if e.cfg.HomeAssistant != nil {
		for _, s := range d.Sensors {
			topic, cfg := b.haDiscovery(e, d, s, availTopic)
			payload, _ := json.Marshal(cfg)
			msgs = append(msgs, b.message(topic, payload, "application/json", true))
		}
	}
	for _, m := range msgs {
		m.Retain = true
	}
	return msgs
}

// haDiscovery returns the discovery topic
// <prefix>/sensor/<node>/<object>/config and config of sensor s of d.
func (b *Bridge) haDiscovery(e *exportSpec, d backplane.DeviceState, s frame.SensorInfo, availTopic string) (string, haConfig) {
	node, object := haID(d.ID), haID(s.ID)
	name := s.ID
	if s.Kind != "" && s.Kind != s.ID {
		name = s.Kind + " (" + s.ID + ")"
	}
	c := haConfig{
		Name:              name,
		UniqueID:          "edgeplane_" + node + "_" + object,
		ObjectID:          node + "_" + object,
		StateTopic:        e.topic.expand(b.cfg.Region, d.ID, s.ID),
		UnitOfMeasurement: s.Unit,
		DeviceClass:       haDeviceClass(s.Kind),
		AvailabilityTopic: availTopic,
		PayloadAvailable:  availableOnline,
		PayloadNotAvail:   availableOffline,
		Device: haDevice{
			Identifiers:   []string{"edgeplane_" + node},
			Name:          d.ID,
			Manufacturer:  "edgeplane",
			Model:         "edgeplane device",
			SWVersion:     d.AgentVersion,
			SuggestedArea: d.Labels["site"],
		},
	}
	if e.cfg.Payload == PayloadJSON {
		c.ValueTemplate = "{{ value_json.value }}"
	}
	if s.Unit != "" || c.DeviceClass != "" {
		c.StateClass = "measurement"
	}
	if dec := decimals(s.Resolution); dec >= 0 {
		c.SuggestedDisplay = &dec
	}
	return e.cfg.HomeAssistant.Prefix + "/sensor/" + node + "/" + object + "/config", c
}

// metaFingerprint is what decides whether a device's retained messages
// must be published again: presence refreshes that change nothing do not.
func metaFingerprint(d backplane.DeviceState) string {
	d.LastSeen = time.Time{}
	b, _ := json.Marshal(d)
	return string(b)
}

// metaLoop publishes the retained messages of devices whose presence
// changed, and of every selected device after each connect (a broker
// restarted without persistence has lost them).
func (b *Bridge) metaLoop(ctx context.Context) {
	hasMeta := false
	for _, e := range b.exports {
		hasMeta = hasMeta || e.cfg.meta
	}
	if !hasMeta {
		return
	}
	for attempt := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-b.metaDirty:
		}
		b.mu.Lock()
		var todo []backplane.DeviceState
		for id, d := range b.devices {
			if b.metaAll || b.metaTodo[id] {
				if fp := metaFingerprint(d); b.metaAll || b.metaSent[id] != fp {
					todo = append(todo, d)
				}
			}
		}
		b.metaAll = false
		clear(b.metaTodo)
		b.mu.Unlock()

		var failed []string
		for _, d := range todo {
			if b.foreign(d) {
				continue
			}
			var msgs []*paho.Publish
			for _, e := range b.exports {
				if e.cfg.meta && e.selects(d) {
					msgs = append(msgs, b.deviceMessages(e, d)...)
				}
			}
			if len(msgs) == 0 {
				continue
			}
			if err := b.publishAll(ctx, msgs); err != nil {
				failed = append(failed, d.ID)
				if ctx.Err() == nil && attempt%20 == 0 && !errors.Is(err, autopaho.ConnectionDownError) {
					b.log.Warn("cannot publish device metadata; retrying", "device", d.ID, "error", err)
				}
				continue
			}
			b.mu.Lock()
			b.metaSent[d.ID] = metaFingerprint(d)
			b.mu.Unlock()
		}
		if len(failed) == 0 {
			attempt = 0
			continue
		}
		attempt++
		b.mu.Lock()
		for _, id := range failed {
			b.metaTodo[id] = true
		}
		b.mu.Unlock()
		if !sleep(ctx, backoff(100*time.Millisecond, 5*time.Second)(attempt)) {
			return
		}
		signal(b.metaDirty)
	}
}
