package soc

import (
	"errors"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// ErrNoThermalZone is wrapped by NewThermal's error when no readable thermal
// zone exists.
var ErrNoThermalZone = errors.New("soc: no thermal zone")

// ThermalOptions configure a Thermal sensor.
type ThermalOptions struct {
	ID         string        // channel id; default "soc.temperature"
	Period     time.Duration // sampling period announced in Desc; default 5s
	Resolution float64       // announced resolution in °C; default 0.1
	// Zone is the zone directory name, e.g. "thermal_zone1"; "" picks the
	// lowest-numbered zone whose temp is readable.
	Zone string
	// SysfsRoot is where sysfs is mounted; default "/sys". Tests point it
	// at a testdata tree.
	SysfsRoot string
}

func (o *ThermalOptions) withDefaults() ThermalOptions {
	var c ThermalOptions
	if o != nil {
		c = *o
	}
	if c.ID == "" {
		c.ID = "soc.temperature"
	}
	if c.Period == 0 {
		c.Period = 5 * time.Second
	}
	if c.Resolution == 0 {
		c.Resolution = 0.1
	}
	if c.SysfsRoot == "" {
		c.SysfsRoot = "/sys"
	}
	return c
}

// Describe implements hw.Sensor.
func (t *Thermal) Describe() []hw.Desc {
	return []hw.Desc{{ID: t.o.ID, Kind: "temperature", Unit: "°C", Period: t.o.Period, Resolution: t.o.Resolution}}
}

// Zone is the zone directory the sensor reads, e.g. "thermal_zone0".
func (t *Thermal) Zone() string { return t.zone }

// Close implements hw.Sensor; there is nothing to release.
func (t *Thermal) Close() error { return nil }

var _ hw.Sensor = (*Thermal)(nil)
