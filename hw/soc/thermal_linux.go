package soc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// Thermal is the temperature of one thermal zone. It is safe for concurrent
// use: every Read reads the sysfs file again.
type Thermal struct {
	o    ThermalOptions
	zone string
	path string
}

// NewThermal finds the zone and reads it once, so that a missing or
// unreadable zone fails here and not at the first sample. opts may be nil.
func NewThermal(opts *ThermalOptions) (*Thermal, error) {
	o := opts.withDefaults()
	base := filepath.Join(o.SysfsRoot, "class", "thermal")
	var zones []string
	if o.Zone != "" {
		zones = []string{o.Zone}
	} else {
		m, _ := filepath.Glob(filepath.Join(base, "thermal_zone*"))
		for _, p := range m {
			zones = append(zones, filepath.Base(p))
		}
		// thermal_zone10 after thermal_zone9.
		sort.Slice(zones, func(i, j int) bool { return zoneNum(zones[i]) < zoneNum(zones[j]) })
	}
	var firstErr error
	for _, z := range zones {
		t := &Thermal{o: o, zone: z, path: filepath.Join(base, z, "temp")}
		if _, err := t.read(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return t, nil
	}
	if firstErr != nil {
		return nil, fmt.Errorf("%w readable under %s: %w", ErrNoThermalZone, base, firstErr)
	}
	return nil, fmt.Errorf("%w under %s", ErrNoThermalZone, base)
}

func zoneNum(z string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(z, "thermal_zone"))
	if err != nil {
		return 1 << 30
	}
	return n
}

func (t *Thermal) read() (float64, error) {
	b, err := os.ReadFile(t.path)
	if err != nil {
		return 0, fmt.Errorf("soc: %w", err)
	}
	milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("soc: %s: %q is not a temperature in millidegrees", t.path, strings.TrimSpace(string(b)))
	}
	return float64(milli) / 1000, nil
}

// Read implements hw.Sensor: the zone's temperature in °C.
func (t *Thermal) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, err := t.read()
	if err != nil {
		return nil, err
	}
	return []hw.Reading{{ID: t.o.ID, Time: time.Now(), Value: v}}, nil
}
