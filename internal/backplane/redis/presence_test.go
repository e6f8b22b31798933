package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// A hub that dies without saying goodbye: the devices it held go offline
// on the other hubs within their ttl plus the sweep interval.
func TestPresenceOfDeadHub(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	const sweep = 100 * time.Millisecond
	hubA := newBroker(t, []string{srv.Addr()}, &redis.Options{HubID: "hub-a", PresenceSweep: sweep})
	hubB := newBroker(t, []string{srv.Addr()}, &redis.Options{HubID: "hub-b", Prefix: hubA.Prefix(), PresenceSweep: sweep})
	recB := backplanetest.NewRecorder(t)
	run(t, hubB, recB)
	ctx := t.Context()
	// hub A is not even running: it only writes, as a hub whose Run ended.
	const ttl = 500 * time.Millisecond
	// lastOnline is the index of hub B's last online event for pi-7, or -1.
	lastOnline := func(evs []backplanetest.Event) int {
		last := -1
		for i, e := range evs {
			if e.Kind == backplanetest.EventPresence && e.Device.ID == "pi-7" && e.Device.Online {
				last = i
			}
		}
		return last
	}
	online := func() bool { return lastOnline(recB.Events()) >= 0 }
	deadline := time.Now().Add(waitTimeout)
	var set time.Time
	for try := 0; !online(); try++ { // until hub B's subscription is up
		set = time.Now()
		// A change each time: an unchanged state is not published again.
		d := backplane.DeviceState{ID: "pi-7", Online: true, Hub: "hub-a", Region: "eu", Labels: map[string]string{"try": fmt.Sprint(try)}}
		if err := hubA.SetDevice(ctx, d, ttl); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("hub B never saw the device")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := hubA.Close(); err != nil { // dies: no offline entry written
		t.Fatal(err)
	}
	// The offline change after the last online one: an earlier expiry (a
	// refresh delayed past the ttl on a loaded machine) does not count.
	evs := recB.Wait(t, waitTimeout, "pi-7 offline", func(evs []backplanetest.Event) bool {
		for _, e := range evs[lastOnline(evs)+1:] {
			if e.Kind == backplanetest.EventPresence && e.Device.ID == "pi-7" && !e.Device.Online {
				return true
			}
		}
		return false
	})
	took := time.Since(set)
	t.Logf("offline on hub B %v after the last refresh (ttl %v, sweep %v)", took, ttl, sweep)
	if took < ttl {
		t.Fatalf("offline after %v, before the ttl %v", took, ttl)
	}
	last := evs[len(evs)-1]
	if last.Device.Hub != "hub-a" || last.Device.Region != "eu" {
		t.Fatalf("offline state %+v lost the last hub", last.Device)
	}
	if d, ok, err := hubB.Device(ctx, "pi-7"); err != nil || !ok || d.Online {
		t.Fatalf("Device on hub B: %+v %v %v", d, ok, err)
	}
}
