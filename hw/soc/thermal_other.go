//go:build !linux

package soc

import (
	"context"
	"fmt"
	"runtime"

	"github.com/edgeplane/edgeplane/hw"
)

// Thermal is the temperature of one thermal zone; only Linux has them.
type Thermal struct {
	o    ThermalOptions
	zone string
}

// NewThermal always fails outside Linux with an error wrapping ErrNoThermalZone.
func NewThermal(opts *ThermalOptions) (*Thermal, error) {
	o := opts.withDefaults()
	return nil, fmt.Errorf("%w for %s on %s", ErrNoThermalZone, o.ID, runtime.GOOS)
}

// Read implements hw.Sensor.
func (t *Thermal) Read(ctx context.Context) ([]hw.Reading, error) {
	return nil, fmt.Errorf("%w on %s", ErrNoThermalZone, runtime.GOOS)
}
