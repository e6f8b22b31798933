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

// TestRedisCommand: a cmd sent to hub B reaches the agent on hub A, and
// its result comes back; offline devices are 404, silent agents 408.
func TestRedisCommand(t *testing.T) {
	r := testenv.StartRedis(t, nil)
	prefix := "hubd-" + t.Name()
	redisHub := func(id string) *testHub {
		return startHub(t, func(c *hubd.Config) {
			c.HubID = id
			c.Limits.CommandTimeout = "500ms"
			c.Backplane = &hubd.BackplaneConfig{Type: "redis", Redis: &hubd.RedisConfig{Addrs: []string{r.Addr()}, KeyPrefix: prefix}}
		})
	}
	ha, hb := redisHub("hub-a"), redisHub("hub-b")
	a := connectAgent(t, ha, "pi-7")
	d := dialDash(t, hb, frame.ProtoJSON)

	id := d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "gpio.write", Args: map[string]any{"pin": "relay1", "level": true}})
	cmd, ok := a.read().(*frame.Command)
	if !ok || cmd.Name != "gpio.write" || cmd.Args["pin"] != "relay1" || cmd.Args["level"] != true {
		t.Fatalf("COMMAND %+v", cmd)
	}
	a.send(&frame.Result{ID: cmd.ID, OK: true, Result: "done"})
	if res, ok := d.next().(*frame.CmdResult); !ok || res.ID != id || !res.OK || res.Result != "done" {
		t.Fatalf("result %+v", res)
	}

	id = d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "pi-7", Name: "slow"})
	a.read() // no RESULT
	if e, ok := d.next().(*frame.ErrorReply); !ok || e.ID != id || e.Code != 408 {
		t.Fatalf("timeout: %+v", e)
	}

	id = d.request(frame.ClientMessage{Op: frame.OpCmd, Device: "nobody", Name: "x"})
	if e, ok := d.next().(*frame.ErrorReply); !ok || e.ID != id || e.Code != 404 {
		t.Fatalf("unknown device: %+v", e)
	}
}
