package sysstat_test

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/sysstat"
)

func TestReadFakeProc(t *testing.T) {
	cases := []struct {
		root string
		load [3]float64
		mem  float64
	}{
		// MemAvailable present: (3884328 - 2913246) / 3884328.
		{"testdata/pi4", [3]float64{0.52, 0.58, 0.59}, 971082.0 / 3884328},
		// No MemAvailable (kernel < 3.14): free + buffers + cached =
		// 224368 of 448736 kB.
		{"testdata/old", [3]float64{2, 1.5, 1.25}, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.root, func(t *testing.T) {
			load, err := sysstat.ReadLoad(tc.root)
			if err != nil || load != tc.load {
				t.Errorf("ReadLoad = %v, %v; want %v", load, err, tc.load)
			}
			mem, err := sysstat.ReadMemoryUsed(tc.root)
			if err != nil || math.Abs(mem-tc.mem) > 1e-12 {
				t.Errorf("ReadMemoryUsed = %v, %v; want %v", mem, err, tc.mem)
			}
		})
	}
}

func TestSensor(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("statfs is read on Linux only")
	}
	d, err := sysstat.New(&sysstat.Options{ProcRoot: "testdata/pi4", Disk: t.TempDir(), Period: "30s"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds := d.Describe()
	wantIDs := []string{"system.load1", "system.load5", "system.load15", "system.memory_used", "system.disk_used"}
	if len(ds) != len(wantIDs) {
		t.Fatalf("Describe = %+v", ds)
	}
	for i, id := range wantIDs {
		if ds[i].ID != id || ds[i].Period != 30*time.Second {
			t.Errorf("Describe[%d] = %+v, want id %s period 30s", i, ds[i], id)
		}
	}
	if ds[0] != (hw.Desc{ID: "system.load1", Kind: "load", Period: 30 * time.Second, Resolution: 0.01}) {
		t.Errorf("load1 = %+v", ds[0])
	}
	rs, err := d.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Value != 0.52 || rs[2].Value != 0.59 {
		t.Errorf("load readings %+v", rs[:3])
	}
	if disk := rs[4].Value.(float64); disk < 0 || disk > 1 {
		t.Errorf("disk_used = %v, want a ratio in [0, 1]", disk)
	}
}

func TestMisconfig(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("statfs is read on Linux only")
	}
	cases := []struct {
		name string
		opts sysstat.Options
		want string
	}{
		{"no proc", sysstat.Options{ProcRoot: "testdata/none"}, "testdata/none/loadavg"},
		{"garbled loadavg", sysstat.Options{ProcRoot: "testdata/broken"}, "want 3 load averages"},
		{"no such disk", sysstat.Options{ProcRoot: "testdata/pi4", Disk: "testdata/no/such/dir"}, "statfs testdata/no/such/dir"},
		{"bad period", sysstat.Options{ProcRoot: "testdata/pi4", Period: "-1s"}, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sysstat.New(&tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "sysstat: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := sysstat.ReadMemoryUsed("testdata/broken"); err == nil || !strings.Contains(err.Error(), "no MemTotal") {
		t.Errorf("meminfo without MemTotal: %v", err)
	}
}
