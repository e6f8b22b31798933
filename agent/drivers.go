package agent

import (
	"sort"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/sim"
	"github.com/edgeplane/edgeplane/hw/soc"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A sensorSpec is a checked sensor block, ready to open.
type sensorSpec struct {
	driver, name string
	optional     bool
	open         func() (hw.Sensor, error)
}

// An actuatorSpec is a checked actuator block, ready to open.
type actuatorSpec struct {
	driver, name string
	open         func() (hw.Actuator, error)
}

// sensorDrivers maps a driver name to the function that checks its block.
// Each decodes the block's settings into its own tagged struct, reports
// problems at their attribute and returns how to open the sensor.
func sensorDrivers() map[string]func(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	return map[string]func(problems, string, hcl.Body) func() (hw.Sensor, error){
		"sim.sine":    simSine,
		"sim.walk":    simWalk,
		"sim.toggle":  simToggle,
		"soc.thermal": socThermal,
		"sysstat":     sysstatSensor,
		"gpio":        gpioInput,
		"counter":     gpioCounter,
		"bme280":      bme280Sensor,
		"ads1115":     ads1115Sensor,
		"ds18b20":     ds18b20Sensor,
	}
}

func actuatorDrivers() map[string]func(p problems, name string, body hcl.Body) func() (hw.Actuator, error) {
	return map[string]func(problems, string, hcl.Body) func() (hw.Actuator, error){
		"sim.relay": simRelay,
		"gpio":      gpioOutput,
	}
}

func newSensorSpec(p problems, sc SensorConfig) *sensorSpec {
	drivers := sensorDrivers()
	mk, ok := drivers[sc.Driver]
	if !ok {
		p.Errorf("driver", "unknown sensor driver %q; known drivers: %s", sc.Driver, keys(drivers))
		return nil
	}
	if sc.Name == "" {
		p.Errorf("name", "the sensor needs a name: sensor %q \"name\" { ... }", sc.Driver)
		return nil
	}
	open := mk(p, sc.Name, sc.Settings)
	if open == nil {
		return nil
	}
	return &sensorSpec{driver: sc.Driver, name: sc.Name, optional: sc.Optional, open: open}
}

func newActuatorSpec(p problems, ac ActuatorConfig) *actuatorSpec {
	drivers := actuatorDrivers()
	mk, ok := drivers[ac.Driver]
	if !ok {
		p.Errorf("driver", "unknown actuator driver %q; known drivers: %s", ac.Driver, keys(drivers))
		return nil
	}
	if ac.Name == "" {
		p.Errorf("name", "the actuator needs a name: actuator %q \"name\" { ... }", ac.Driver)
		return nil
	}
	open := mk(p, ac.Name, ac.Settings)
	if open == nil {
		return nil
	}
	return &actuatorSpec{driver: ac.Driver, name: ac.Name, open: open}
}

func keys[V any](m map[string]V) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func gohclDecode(body hcl.Body, v any) hcl.Diagnostics { return gohcl.DecodeBody(body, nil, v) }

// attrAt returns the name of the attribute of body whose source contains r,
// "" when none does (the problem is then placed at the block).
func attrAt(body hcl.Body, r *hcl.Range) string {
	sb, ok := body.(*hclsyntax.Body)
	if !ok || r == nil {
		return ""
	}
	for name, a := range sb.Attributes {
		if a.SrcRange.ContainsPos(r.Start) {
			return name
		}
	}
	return ""
}

func checkResolution(p problems, r float64) float64 {
	if r < 0 {
		p.Errorf("resolution", "%v is negative", r)
	}
	return r
}

func period(p problems, s string, def time.Duration) time.Duration {
	return duration(p, "period", s, def, time.Millisecond, 24*time.Hour)
}

// sim.sine: a sine wave (hw/sim.Sine).
func simSine(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	var k struct {
		Period     string  `hcl:"period,optional"`
		Resolution float64 `hcl:"resolution,optional"`
		Kind       string  `hcl:"kind,optional"`
		Unit       string  `hcl:"unit,optional"`
		Amplitude  float64 `hcl:"amplitude,optional"`
		Offset     float64 `hcl:"offset,optional"`
		WavePeriod string  `hcl:"wave_period,optional"`
		Phase      float64 `hcl:"phase,optional"`
	}
	decoded := decodeSettings(p, body, &k)
	o := sim.SineOptions{
		ID: name, Kind: k.Kind, Unit: k.Unit,
		Period:     period(p, k.Period, time.Second),
		Resolution: checkResolution(p, k.Resolution),
		Amplitude:  k.Amplitude, Offset: k.Offset, Phase: k.Phase,
		WavePeriod: duration(p, "wave_period", k.WavePeriod, time.Minute, time.Millisecond, 0),
	}
	if !decoded {
		return nil
	}
	return func() (hw.Sensor, error) { return sim.NewSine(&o) }
}

// sim.walk: a bounded random walk (hw/sim.Walk).
func simWalk(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	var k struct {
		Period     string   `hcl:"period,optional"`
		Resolution float64  `hcl:"resolution,optional"`
		Kind       string   `hcl:"kind,optional"`
		Unit       string   `hcl:"unit,optional"`
		Min        float64  `hcl:"min,optional"`
		Max        float64  `hcl:"max,optional"`
		Step       float64  `hcl:"step,optional"`
		Start      *float64 `hcl:"start,optional"`
		Seed       uint64   `hcl:"seed,optional"`
	}
	decoded := decodeSettings(p, body, &k)
	o := sim.WalkOptions{
		ID: name, Kind: k.Kind, Unit: k.Unit,
		Period:     period(p, k.Period, time.Second),
		Resolution: checkResolution(p, k.Resolution),
		Min:        k.Min, Max: k.Max, Step: k.Step, Start: k.Start, Seed: k.Seed,
	}
	if (k.Min != 0 || k.Max != 0) && !(k.Max > k.Min) {
		p.Errorf("max", "%v must be above min %v", k.Max, k.Min)
		return nil
	}
	if k.Step < 0 {
		p.Errorf("step", "%v is negative", k.Step)
		return nil
	}
	if _, err := sim.NewWalk(&o); err != nil {
		p.Errorf("start", "%v", err)
		return nil
	}
	if !decoded {
		return nil
	}
	return func() (hw.Sensor, error) { return sim.NewWalk(&o) }
}

// sim.toggle: a GPIO-like level that flips every interval (hw/sim.Toggle).
func simToggle(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	var k struct {
		Period   string `hcl:"period,optional"`
		Kind     string `hcl:"kind,optional"`
		Interval string `hcl:"interval,optional"`
		Initial  bool   `hcl:"initial,optional"`
	}
	decoded := decodeSettings(p, body, &k)
	o := sim.ToggleOptions{
		ID: name, Kind: k.Kind, Initial: k.Initial,
		// 0s: events only, one reading per flip.
		Period:   duration(p, "period", k.Period, 0, 0, 24*time.Hour),
		Interval: duration(p, "interval", k.Interval, 5*time.Second, time.Millisecond, 0),
	}
	if !decoded {
		return nil
	}
	return func() (hw.Sensor, error) { return sim.NewToggle(&o) }
}

// soc.thermal: the SoC temperature from sysfs (hw/soc.Thermal).
func socThermal(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	var k struct {
		Period     string  `hcl:"period,optional"`
		Resolution float64 `hcl:"resolution,optional"`
		Zone       string  `hcl:"zone,optional"`
		SysfsRoot  string  `hcl:"sysfs_root,optional"`
	}
	decoded := decodeSettings(p, body, &k)
	o := soc.ThermalOptions{
		ID:         name,
		Period:     period(p, k.Period, 5*time.Second),
		Resolution: checkResolution(p, k.Resolution),
		Zone:       k.Zone, SysfsRoot: k.SysfsRoot,
	}
	if !decoded {
		return nil
	}
	return func() (hw.Sensor, error) { return soc.NewThermal(&o) }
}

// sim.relay: a relay that remembers its level (hw/sim.Relay).
func simRelay(p problems, name string, body hcl.Body) func() (hw.Actuator, error) {
	var k struct {
		SafeLevel bool `hcl:"safe_level,optional"`
	}
	decoded := decodeSettings(p, body, &k)
	o := sim.RelayOptions{Name: name, Default: k.SafeLevel}
	if !decoded {
		return nil
	}
	return func() (hw.Actuator, error) { return sim.NewRelay(&o) }
}
