package bridge_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// linkConfig is a bridge of region that exports its devices' frames as cbor
// to edgeplane/<region>/<device> and imports every region's from there.
func linkConfig(region, extra string) string {
	return fmt.Sprintf(`
region = %q
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
  in_flight = 8
}
export "link" {
  payload = "cbor"
  batch_frames = 16
}
import "regions" {
  topic = "edgeplane/<region>/<device>"
  payload = "cbor"
}
%s
`, region, extra)
}

// wireFrames decodes the frames of one cbor export message.
func wireFrames(t *testing.T, payload string) []*frame.Stored {
	t.Helper()
	items, err := bridge.SplitCBORForTest([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	var out []*frame.Stored
	for _, it := range items {
		s, err := frame.DecodeStored(it)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// checkSeqs fails unless frames hold seqs 1..n of one spool, in order.
func checkSeqs(t *testing.T, what string, frames []*frame.Stored, n int) {
	t.Helper()
	if len(frames) != n {
		t.Fatalf("%s: %d frames, want %d", what, len(frames), n)
	}
	for i, s := range frames {
		if s.Seq != uint64(i+1) || s.SpoolID != frames[0].SpoolID {
			t.Fatalf("%s: frame %d has spool %s seq %d", what, i, s.SpoolID, s.Seq)
		}
	}
}

// TestRegionLinkNoLoop: two regions linked both ways through one broker.
// Each one's frames reach the other in order and once, and nothing comes
// back: no message of a device is ever published under the other region's
// topic, and the importing bridge starts no export for imported devices.
func TestRegionLinkNoLoop(t *testing.T) {
	forEachBackplane(t, testRegionLinkNoLoop)
}

func testRegionLinkNoLoop(t *testing.T, open opener) {
	const n = 300
	mq := testenv.StartMosquitto(t, nil)
	eu, us := open("eu"), open("us")
	aeu := newAgent(t, eu, "pi-eu", "eu", nil)
	aus := newAgent(t, us, "pi-us", "us", nil)
	for range n / 2 {
		aeu.send(t)
		aus.send(t)
	}
	wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/#")
	presubscribe(t, mq.Addr(), "edgeplane-bridge-eu", "edgeplane/+/+")
	presubscribe(t, mq.Addr(), "edgeplane-bridge-us", "edgeplane/+/+")
	beu := startBridge(t, open("eu"), mq.Addr(), linkConfig("eu", ""))
	bus := startBridge(t, open("us"), mq.Addr(), linkConfig("us", ""))
	for range n / 2 {
		aeu.send(t)
		aus.send(t)
	}
	eventually(t, "pi-eu's frames in us and pi-us's in eu", func() bool {
		return len(storedFrames(t, us, "pi-eu")) >= n && len(storedFrames(t, eu, "pi-us")) >= n
	})
	checkSeqs(t, "us dev/pi-eu", storedFrames(t, us, "pi-eu"), n)
	checkSeqs(t, "eu dev/pi-us", storedFrames(t, eu, "pi-us"), n)

	// A last frame of pi-eu marks the end of what the wire subscriber must
	// have seen; every message before it is checked.
	last := aeu.send(t)
	onWire := map[string][]*frame.Stored{}
	for done := false; !done; {
		m := sub(t, wire)
		if strings.Contains(m.Topic, "/$") {
			// Metadata and availability: only of a region's own devices.
			if m.Topic != "edgeplane/eu/pi-eu/$meta" && m.Topic != "edgeplane/eu/pi-eu/$availability" &&
				m.Topic != "edgeplane/us/pi-us/$meta" && m.Topic != "edgeplane/us/pi-us/$availability" {
				t.Fatalf("metadata of an imported device exported: %s %s", m.Topic, m.Payload)
			}
			continue
		}
		fs := wireFrames(t, m.Payload)
		onWire[m.Topic] = append(onWire[m.Topic], fs...)
		region := strings.Split(m.Topic, "/")[1]
		if m.Origin != region {
			t.Fatalf("%s carries origin %q", m.Topic, m.Origin)
		}
		done = m.Topic == "edgeplane/eu/pi-eu" && fs[len(fs)-1].Seq == last
	}
	for topic := range onWire {
		if topic != "edgeplane/eu/pi-eu" && topic != "edgeplane/us/pi-us" {
			t.Errorf("frames looped: %d on %s", len(onWire[topic]), topic)
		}
	}
	checkSeqs(t, "wire edgeplane/eu/pi-eu", onWire["edgeplane/eu/pi-eu"], n+1)

	if got := bus.ExportedChannels(); !slices.Equal(got, []string{"link:dev/pi-us"}) {
		t.Errorf("us exports %v", got)
	}
	if got := beu.ExportedChannels(); !slices.Equal(got, []string{"link:dev/pi-eu"}) {
		t.Errorf("eu exports %v", got)
	}
	// The us dashboard lists pi-eu as eu's device, with the sensors and
	// agent version of eu's presence (from the retained metadata).
	var d backplane.DeviceState
	eventually(t, "pi-eu's metadata in us presence", func() bool {
		d, _, _ = us.Device(t.Context(), "pi-eu")
		return len(d.Sensors) == 2 && d.Sensors[0].Unit == "°C"
	})
	if !d.Online || d.Region != "eu" || d.Labels[bridge.LabelOrigin] != "eu" || d.Hub != "bridge-us" || d.AgentVersion != "v1.2.3" {
		t.Errorf("us presence of pi-eu: %+v", d)
	}
}

func sub(t *testing.T, s *subscriber) msg { t.Helper(); return s.next(t) }

// TestTwoImportersDedup: two bridges of region us import the same region's
// frames; every frame is stored once, the second copy of each is dropped
// as a duplicate.
func TestTwoImportersDedup(t *testing.T) {
	forEachBackplane(t, func(t *testing.T, open opener) {
		const n = 200
		mq := testenv.StartMosquitto(t, nil)
		eu := open("eu")
		a := newAgent(t, eu, "pi-eu", "eu", nil)
		importer := func(id string) string {
			return fmt.Sprintf(`
region = "us"
id = %q
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls = ["mqtt://{{broker}}"]
}
import "regions" {
  topic = "edgeplane/<region>/<device>"
  payload = "cbor"
}
`, id)
		}
		presubscribe(t, mq.Addr(), "edgeplane-bridge-us-a", "edgeplane/+/+")
		presubscribe(t, mq.Addr(), "edgeplane-bridge-us-b", "edgeplane/+/+")
		ba := startBridge(t, open("us"), mq.Addr(), importer("bridge-us-a"))
		bb := startBridge(t, open("us"), mq.Addr(), importer("bridge-us-b"))
		startBridge(t, open("eu"), mq.Addr(), linkConfig("eu", ""))
		for range n {
			a.send(t)
		}
		us := open("us")
		eventually(t, "both importers done", func() bool {
			stored := counter(t, ba, "edgeplane_bridge_imported_frames_total") + counter(t, bb, "edgeplane_bridge_imported_frames_total")
			dups := counter(t, ba, "edgeplane_bridge_dropped_total", "reason", "duplicate") + counter(t, bb, "edgeplane_bridge_dropped_total", "reason", "duplicate")
			return stored+dups >= 2*n
		})
		checkSeqs(t, "us dev/pi-eu", storedFrames(t, us, "pi-eu"), n)
	})
}
