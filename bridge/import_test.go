package bridge_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

const tasmotaConfigSrc = `
region = "eu"
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
}
import "tasmota" {
  topic = "tele/<device>/SENSOR"
  device_prefix = "tasmota-"
  payload = "json"
  labels = { vendor = "tasmota" }
  field "t" {
    path = "BME280.Temperature"
    kind = "temperature"
    unit = "°C"
    resolution = 0.1
  }
  field "rh" {
    path = "BME280.Humidity"
    unit = "%"
  }
}
import "shelly" {
  topic = "shellies/<device>/sensor/<sensor>"
  payload = "value"
}
`

// TestImportTasmota: a Tasmota tele/<dev>/SENSOR message sent with
// mosquitto_pub becomes frames on dev/tasmota-<dev> with increasing seqs of
// one bridge-made spool, and the device is listed in presence.
func TestImportTasmota(t *testing.T) {
	mq := testenv.StartMosquitto(t, nil)
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not found; install it with: sudo apt-get install -y mosquitto-clients")
	}
	bp := newSharedBackplane(t)
	b := startBridge(t, bp, mq.Addr(), tasmotaConfigSrc)
	eventually(t, "bridge connected", func() bool { return b.Ready(context.Background()) == nil })
	// The subscription is made after the connection comes up; a probe
	// message tells when it is in place.
	probe := startSubscriber(t, mq.Addr(), "probe", "nothing/#")
	eventually(t, "import subscribed", func() bool {
		probe.publish(t, "shellies/probe/sensor/x", []byte("1"))
		return len(storedFrames(t, bp, "probe")) > 0
	})

	msgs := []string{
		`{"Time":"2024-12-04T12:00:00","BME280":{"Temperature":21.34,"Humidity":45.1,"Pressure":1013.2},"TempUnit":"C"}`,
		`{"Time":"2024-12-04T12:05:00","BME280":{"Temperature":21.5,"Humidity":44.9}}`,
		`not json`,
	}
	for _, m := range msgs {
		out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", itoa(mq.Port()), "-V", "5", "-q", "1",
			"-t", "tele/kitchen/SENSOR", "-m", m).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
	}
	var got []*frame.Stored
	eventually(t, "two frames on dev/tasmota-kitchen", func() bool {
		got = storedFrames(t, bp, "tasmota-kitchen")
		return len(got) >= 2
	})
	if len(got) != 2 {
		t.Fatalf("%d frames, want 2", len(got))
	}
	for i, s := range got {
		if s.Device != "tasmota-kitchen" || s.Seq != uint64(i+1) || s.SpoolID == "" || s.SpoolID != got[0].SpoolID {
			t.Errorf("frame %d: device %s spool %q seq %d", i, s.Device, s.SpoolID, s.Seq)
		}
		if len(s.Samples) != 2 {
			t.Fatalf("frame %d samples %+v", i, s.Samples)
		}
	}
	if v := sample(got[0], "t"); v.Float64() != 21.3 || v.Resolution() != 0.1 {
		t.Errorf("t = %v (resolution %v), want 21.3 at 0.1", v.Float64(), v.Resolution())
	}
	if v := sample(got[1], "rh"); v.Float64() != 44.9 {
		t.Errorf("rh = %v, want 44.9", v.Float64())
	}
	d, ok, err := bp.Device(context.Background(), "tasmota-kitchen")
	if err != nil || !ok {
		t.Fatalf("presence: ok %v err %v", ok, err)
	}
	if !d.Online || d.Region != "eu" || d.Hub != "bridge-eu" || d.Labels["vendor"] != "tasmota" || d.Labels["edgeplane.origin"] != "eu" || len(d.Sensors) != 2 || d.Sensors[0].Unit != "°C" {
		t.Errorf("presence %+v", d)
	}
	eventually(t, "the message that is not JSON counted as dropped{bad_payload}", func() bool {
		return counter(t, b, "edgeplane_bridge_dropped_total", "reason", "bad_payload") == 1
	})
}

func sample(s *frame.Stored, sensor string) frame.Value {
	for _, x := range s.Samples {
		if x.Sensor == sensor {
			return x.Value
		}
	}
	return frame.Value{}
}

// TestImportOrigin: a frame whose edgeplane-origin is this region (its own
// export, come back) is dropped; one from another region is stored and
// its device announced as that region's.
func TestImportOrigin(t *testing.T) {
	mq := testenv.StartMosquitto(t, nil)
	bp := newSharedBackplane(t)
	b := startBridge(t, bp, mq.Addr(), linkConfig("eu", ""))
	eventually(t, "bridge connected", func() bool { return b.Ready(context.Background()) == nil })
	pub := startSubscriber(t, mq.Addr(), "publisher", "nothing/#")
	frameOf := func(dev string, seq uint64) []byte {
		data, err := frame.AppendStored(nil, &frame.Stored{Device: dev, SpoolID: "s", Seq: seq, T0: frameAt(seq),
			Samples: []frame.Sample{{Sensor: "t", Value: frame.Rounded(20, 0.01)}}})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	// The subscription is made after the connection comes up: retry the
	// foreign frame until it is stored.
	eventually(t, "a us frame imported", func() bool {
		pub.publish(t, "edgeplane/us/pi-us", frameOf("pi-us", 1), bridge.OriginProperty, "us")
		return len(storedFrames(t, bp, "pi-us")) == 1
	})
	pub.publish(t, "edgeplane/eu/pi-back", frameOf("pi-back", 1), bridge.OriginProperty, "eu")
	eventually(t, "own frame dropped", func() bool {
		return counter(t, b, "edgeplane_bridge_dropped_total", "reason", "own_origin") == 1
	})
	if n := len(storedFrames(t, bp, "pi-back")); n != 0 {
		t.Errorf("own-origin frame stored %d times", n)
	}
	d, ok, err := bp.Device(context.Background(), "pi-us")
	if err != nil || !ok || d.Region != "us" || d.Labels[bridge.LabelOrigin] != "us" {
		t.Errorf("presence of pi-us: %+v ok %v err %v", d, ok, err)
	}
	if got := b.ExportedChannels(); len(got) != 0 {
		t.Errorf("exports %v; an imported device must not be exported", got)
	}
}
