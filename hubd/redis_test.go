package hubd_test

import (
	"testing"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestRedisTwoHubs: two hubs on one real redis-server; an agent on hub A,
// a dashboard on hub B receives every frame in order, recovers with since
// across the hubs, and sees the device online at hub A.
func TestRedisTwoHubs(t *testing.T) {
	r := testenv.StartRedis(t, nil)
	prefix := "hubd-" + t.Name()
	redisHub := func(id string) *testHub {
		return startHub(t, func(c *hubd.Config) {
			c.HubID = id
			c.Backplane = &hubd.BackplaneConfig{Type: "redis", Redis: &hubd.RedisConfig{Addrs: []string{r.Addr()}, KeyPrefix: prefix}}
		})
	}
	ha, hb := redisHub("hub-a"), redisHub("hub-b")

	d := dialDash(t, hb, frame.ProtoJSON)
	ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	a := connectAgent(t, ha, "pi-7")
	a.publish(10)
	a.publishBatch(40)
	fs := d.frames(50)
	checkContiguous(t, fs, ok.Off+1)

	// Recovery through hub B of frames published through hub A.
	d2 := dialDash(t, hb, frame.ProtoCBOR)
	ok2 := d2.sub(frame.ClientMessage{Ch: "dev/pi-7", Since: &frame.Since{Epoch: ok.Epoch, Off: fs[19].Off}})
	if ok2.Recovered == nil || !*ok2.Recovered {
		t.Fatalf("ok %+v", ok2)
	}
	checkContiguous(t, d2.frames(30), fs[19].Off+1)

	d.request(frame.ClientMessage{Op: frame.OpDevices})
	var dl *frame.DeviceList
	for dl == nil {
		switch m := d.next().(type) {
		case *frame.DeviceList:
			dl = m
		case *frame.DashFrame:
		default:
			t.Fatalf("unexpected %T %+v", m, m)
		}
	}
	if len(dl.Devices) != 1 || !dl.Devices[0].Online || dl.Devices[0].Hub != "hub-a" {
		t.Fatalf("devices on hub B: %+v", dl.Devices)
	}
	if status, _ := httpGet(t, "http://"+hb.addr+"/readyz"); status != 200 {
		t.Fatalf("readyz %d", status)
	}
}
