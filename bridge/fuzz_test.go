package bridge

import (
	"bytes"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// FuzzReadings feeds arbitrary payloads to the JSON and value import
// mappings (seeds: Tasmota's tele/<dev>/SENSOR and bare values). Property:
// no panic, and every sample returned names a configured sensor.
func FuzzReadings(f *testing.F) {
	f.Add(`{"Time":"2024-12-04T12:00:00","BME280":{"Temperature":21.34,"Humidity":45.1,"Pressure":1013.2},"TempUnit":"C"}`, false)
	f.Add(`{"POWER":"ON","list":[1,2,3]}`, false)
	f.Add(`21.5`, true)
	f.Add(`on`, true)
	f.Add(`{"BME280":{"Temperature":"nan"}}`, false)
	f.Add(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, false)
	json, err := newImportSpec(&ImportConfig{Topic: "tele/<device>/SENSOR", Payload: PayloadJSON, Fields: []FieldConfig{
		{Sensor: "t", Path: "BME280.Temperature", Resolution: 0.1},
		{Sensor: "on", Path: "POWER"},
		{Sensor: "l", Path: "list.1"},
	}}, "eu")
	if err != nil {
		f.Fatal(err)
	}
	value, err := newImportSpec(&ImportConfig{Topic: "x/<device>/<sensor>", Payload: PayloadValue}, "eu")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload string, bare bool) {
		s := json
		if bare {
			s = value
		}
		samples, _, err := s.readings(topicFields{device: "d", sensor: "v"}, []byte(payload))
		if err != nil {
			return
		}
		for _, smp := range samples {
			switch smp.Sensor {
			case "t", "on", "l", "v":
			default:
				t.Fatalf("sample of unknown sensor %q", smp.Sensor)
			}
		}
	})
}

// FuzzImportCBOR feeds arbitrary cbor import payloads (seeds: a batch of
// stored frames as a cbor export sends it) through splitCBOR and
// frame.DecodeStored. Properties: no panic; the items are consecutive
// pieces of the payload from its start; a decoded frame encodes again.
func FuzzImportCBOR(f *testing.F) {
	var batch []byte
	for seq := uint64(1); seq <= 3; seq++ {
		var err error
		batch, err = frame.AppendStored(batch, &frame.Stored{Device: "pi-7", SpoolID: "s1", Seq: seq, T0: 1733318400123456789,
			Samples: []frame.Sample{{Sensor: "t", Value: frame.Rounded(20.87, 0.01)}, {Sensor: "on", DT: 10, Value: frame.Bool(true)}}})
		if err != nil {
			f.Fatal(err)
		}
	}
	f.Add(batch)
	f.Add(batch[:len(batch)/2])
	f.Add([]byte{0xa0})
	f.Add([]byte{0x9f, 0x9f, 0x9f})
	f.Fuzz(func(t *testing.T, payload []byte) {
		items, _ := splitCBOR(payload)
		off := 0
		for _, it := range items {
			if !bytes.Equal(payload[off:off+len(it)], it) {
				t.Fatalf("item at %d is not the payload's bytes", off)
			}
			off += len(it)
			s, err := frame.DecodeStored(it)
			if err != nil {
				continue
			}
			if _, err := frame.AppendStored(nil, s); err != nil && frame.ValidDeviceID(s.Device) {
				t.Fatalf("decoded frame does not encode: %v", err)
			}
		}
	})
}
