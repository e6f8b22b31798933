package agent

import (
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/ads1115"
	"github.com/edgeplane/edgeplane/hw/bme280"
	"github.com/edgeplane/edgeplane/hw/counter"
	"github.com/edgeplane/edgeplane/hw/ds18b20"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"github.com/edgeplane/edgeplane/hw/hwreg"
	"github.com/edgeplane/edgeplane/hw/sysstat"
	"github.com/hashicorp/hcl/v2"
)

// The periph-based drivers decode their blocks into the drivers' own
// Options (which carry the hcl tags) and open through hw/hwreg, which finds
// buses and pins by name. The agent checks the period here; the drivers
// check the rest when they open, naming the bus or pin and what periph
// found instead.

func periphPeriod(p problems, s string) {
	if s != "" {
		duration(p, "period", s, 0, time.Millisecond, 24*time.Hour)
	}
}

func gpioInput(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := hwgpio.InputOptions{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	if o.Debounce != "" {
		duration(p, "debounce", o.Debounce, 0, 0, time.Minute)
	}
	return func() (hw.Sensor, error) { return hwreg.OpenInput(&o) }
}

func gpioCounter(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := counter.Options{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	if o.Debounce != "" {
		duration(p, "debounce", o.Debounce, 0, 0, time.Minute)
	}
	return func() (hw.Sensor, error) { return hwreg.OpenCounter(&o) }
}

func bme280Sensor(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := bme280.Options{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	return func() (hw.Sensor, error) { return hwreg.OpenBME280(&o) }
}

func ads1115Sensor(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := ads1115.Options{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	return func() (hw.Sensor, error) { return hwreg.OpenADS1115(&o) }
}

func ds18b20Sensor(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := ds18b20.Options{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	return func() (hw.Sensor, error) { return hwreg.OpenDS18B20(&o) }
}

func sysstatSensor(p problems, name string, body hcl.Body) func() (hw.Sensor, error) {
	o := sysstat.Options{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	periphPeriod(p, o.Period)
	return func() (hw.Sensor, error) { return sysstat.New(&o) }
}

func gpioOutput(p problems, name string, body hcl.Body) func() (hw.Actuator, error) {
	o := hwgpio.OutputOptions{Name: name}
	if !decodeSettings(p, body, &o) {
		return nil
	}
	return func() (hw.Actuator, error) { return hwreg.OpenOutput(&o) }
}
