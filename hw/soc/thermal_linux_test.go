package soc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/edgeplane/edgeplane/hw/soc"
)

func TestThermal(t *testing.T) {
	cases := []struct {
		name, root, zone string
		wantZone         string
		want             float64
		wantErr          bool
	}{
		{name: "raspberry pi", root: "testdata/pi", wantZone: "thermal_zone0", want: 48.312},
		{name: "lowest readable zone", root: "testdata/multi", wantZone: "thermal_zone2", want: 30},
		{name: "chosen zone", root: "testdata/multi", zone: "thermal_zone10", wantZone: "thermal_zone10", want: 41},
		{name: "unparsable", root: "testdata/broken", wantErr: true},
		{name: "no zones", root: "testdata/empty", wantErr: true},
		{name: "no sysfs", root: "testdata/nowhere", wantErr: true},
		{name: "missing chosen zone", root: "testdata/pi", zone: "thermal_zone7", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := soc.NewThermal(&soc.ThermalOptions{ID: "cpu", SysfsRoot: tc.root, Zone: tc.zone})
			if tc.wantErr {
				if !errors.Is(err, soc.ErrNoThermalZone) {
					t.Fatalf("NewThermal = %v, want an error wrapping ErrNoThermalZone", err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer th.Close()
			if th.Zone() != tc.wantZone {
				t.Errorf("zone %s, want %s", th.Zone(), tc.wantZone)
			}
			r, err := th.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(r) != 1 || r[0].ID != "cpu" || r[0].Value != tc.want {
				t.Fatalf("Read = %+v, want cpu=%v", r, tc.want)
			}
			d := th.Describe()
			if d[0].Unit != "°C" || d[0].Kind != "temperature" || d[0].Resolution != 0.1 {
				t.Errorf("Describe = %+v", d)
			}
		})
	}
}
