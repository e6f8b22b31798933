package bme280

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/bmxx80"
)

// Defaults of Options.
const (
	DefaultAddress      = 0x76 // SDO to ground; 0x77 with SDO to VDDIO
	DefaultPeriod       = 10 * time.Second
	DefaultOversampling = 4
)

// Options configures New. The zero value is valid.
type Options struct {
	// Name prefixes the channel ids ("<name>.temperature"). It comes from
	// the block's name label, so it has no hcl tag. Default "bme280".
	Name string
	// Bus is the periph I²C bus name or number ("1", "I2C1"); "" is the
	// first bus periph found. Used by hwreg; New takes the bus itself.
	Bus string `hcl:"bus,optional"`
	// Address is the I²C address, "0x76" (default) or "0x77". Used by
	// hwreg (see ParseAddress); New takes the address itself.
	Address string `hcl:"address,optional"`
	// Period is how often the agent reads, Go duration syntax; default 10s.
	Period string `hcl:"period,optional"`
	// Oversampling applies to all three quantities: 1, 2, 4 (default), 8
	// or 16. More is less noisy, slower (about 2 ms per step per quantity)
	// and uses more current.
	Oversampling int `hcl:"oversampling,optional"`
}

// Dev is a BME280 or BMP280 as a sensor. Its methods may be called from
// any goroutine.
type Dev struct {
	dev   *bmxx80.Dev
	descs []hw.Desc
	bme   bool // has humidity

	mu     sync.Mutex // guards closed
	closed bool
}

var _ hw.Sensor = (*Dev)(nil)

// New detects the chip at addr on b, reads its calibration and puts it to
// sleep until the first Read. opts may be nil.
func New(b i2c.Bus, addr uint16, opts *Options) (*Dev, error) {
	if b == nil {
		return nil, fmt.Errorf("bme280: nil bus")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = "bme280"
	}
	fail := func(err error) (*Dev, error) { return nil, fmt.Errorf("bme280: %s: %w", name, err) }
	if addr != 0x76 && addr != 0x77 {
		return fail(fmt.Errorf("address %#x: want 0x76 or 0x77", addr))
	}
	period := DefaultPeriod
	if o.Period != "" {
		var err error
		if period, err = time.ParseDuration(o.Period); err != nil {
			return fail(fmt.Errorf("period %q: %w", o.Period, err))
		}
		if period <= 0 {
			return fail(fmt.Errorf("period %q: must be positive", o.Period))
		}
	}
	ovs, err := oversampling(o.Oversampling)
	if err != nil {
		return fail(err)
	}
	dev, err := bmxx80.NewI2C(b, addr, &bmxx80.Opts{Temperature: ovs, Pressure: ovs, Humidity: ovs})
	if err != nil {
		return fail(fmt.Errorf("at %#x on %s: %w", addr, b, err))
	}
	if strings.HasPrefix(dev.String(), "BMP180") {
		// bmxx80 also speaks to the older BMP180 at 0x77; its resolution
		// and timing differ, and nobody has asked for it.
		return fail(fmt.Errorf("at %#x on %s: found a BMP180, want a BME280 or BMP280", addr, b))
	}
	var prec physic.Env
	dev.Precision(&prec)
	d := &Dev{dev: dev, bme: prec.Humidity != 0}
	d.descs = append(d.descs, hw.Desc{ID: name + ".temperature", Kind: "temperature", Unit: "°C", Period: period, Resolution: 0.01})
	if d.bme {
		d.descs = append(d.descs, hw.Desc{ID: name + ".humidity", Kind: "humidity", Unit: "%", Period: period, Resolution: 0.01})
	}
	d.descs = append(d.descs, hw.Desc{ID: name + ".pressure", Kind: "pressure", Unit: "hPa", Period: period, Resolution: 0.01})
	return d, nil
}

// Describe lists temperature, humidity (BME280 only) and pressure.
func (d *Dev) Describe() []hw.Desc { return append([]hw.Desc(nil), d.descs...) }

// String names the chip periph detected and its bus, e.g. "BME280{I2C1(0x76)}".
func (d *Dev) String() string { return d.dev.String() }

// Read runs one forced measurement (tens of milliseconds; periph's driver
// waits without ctx, so ctx is checked before it starts) and returns one
// reading per channel.
func (d *Dev) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("bme280: %s: closed", d.descs[0].ID)
	}
	var e physic.Env
	if err := d.dev.Sense(&e); err != nil {
		return nil, fmt.Errorf("bme280: %s: sense: %w", d.descs[0].ID, err)
	}
	now := time.Now()
	rs := make([]hw.Reading, 0, len(d.descs))
	for _, desc := range d.descs {
		var v float64
		switch desc.Kind {
		case "temperature":
			v = Celsius(e.Temperature)
		case "humidity":
			v = Percent(e.Humidity)
		case "pressure":
			v = Hectopascal(e.Pressure)
		}
		rs = append(rs, hw.Reading{ID: desc.ID, Time: now, Value: v})
	}
	return rs, nil
}

// Close halts the chip. It does not close the bus, which the caller owns.
// Close is idempotent.
func (d *Dev) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := d.dev.Halt(); err != nil {
		return fmt.Errorf("bme280: %s: halt: %w", d.descs[0].ID, err)
	}
	return nil
}

// ParseAddress parses Options.Address: "" gives DefaultAddress; hex
// ("0x76"), octal ("0o166") and decimal ("118") are accepted.
func ParseAddress(s string) (uint16, error) {
	if s == "" {
		return DefaultAddress, nil
	}
	v, err := strconv.ParseUint(s, 0, 7)
	if err != nil {
		return 0, fmt.Errorf("bme280: address %q: want 0x76 or 0x77", s)
	}
	return uint16(v), nil
}

// Celsius converts periph's temperature (nanokelvin) to °C.
func Celsius(t physic.Temperature) float64 {
	return float64(t-physic.ZeroCelsius) / float64(physic.Celsius)
}

// Percent converts periph's relative humidity to %.
func Percent(h physic.RelativeHumidity) float64 {
	return float64(h) / float64(physic.PercentRH)
}

// Hectopascal converts periph's pressure (nanopascal) to hPa.
func Hectopascal(p physic.Pressure) float64 {
	return float64(p) / float64(100*physic.Pascal)
}

func oversampling(n int) (bmxx80.Oversampling, error) {
	switch n {
	case 0:
		return oversampling(DefaultOversampling)
	case 1:
		return bmxx80.O1x, nil
	case 2:
		return bmxx80.O2x, nil
	case 4:
		return bmxx80.O4x, nil
	case 8:
		return bmxx80.O8x, nil
	case 16:
		return bmxx80.O16x, nil
	}
	return bmxx80.Off, fmt.Errorf("oversampling %d: want 1, 2, 4, 8 or 16", n)
}
