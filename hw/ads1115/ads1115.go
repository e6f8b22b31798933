package ads1115

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/ads1x15"
)

// Defaults of Options.
const (
	DefaultAddress   = 0x48 // ADDR pin to GND
	DefaultPeriod    = time.Second
	DefaultFullScale = 4.096 // volts
	DefaultDataRate  = 128   // samples per second
)

// DefaultChannels are the four single-ended inputs.
var DefaultChannels = []string{"ain0", "ain1", "ain2", "ain3"}

// channels maps configuration names to periph's multiplexer settings
// (MUX[14:12] of the config register).
var channels = map[string]ads1x15.Channel{
	"ain0":      ads1x15.Channel0,
	"ain1":      ads1x15.Channel1,
	"ain2":      ads1x15.Channel2,
	"ain3":      ads1x15.Channel3,
	"ain0-ain1": ads1x15.Channel0Minus1,
	"ain0-ain3": ads1x15.Channel0Minus3,
	"ain1-ain3": ads1x15.Channel1Minus3,
	"ain2-ain3": ads1x15.Channel2Minus3,
}

// fullScales are the PGA settings (PGA[11:9]) in volts.
var fullScales = []float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256}

// dataRates are the DR[7:5] settings of the ADS1115 in samples per second.
var dataRates = []int{8, 16, 32, 64, 128, 250, 475, 860}

// Options configures New. The zero value is valid.
type Options struct {
	// Name prefixes the channel ids ("<name>.ain0"). It comes from the
	// block's name label, so it has no hcl tag. Default "ads1115".
	Name string
	// Bus is the periph I²C bus name or number; "" is the first bus. Used
	// by hwreg; New takes the bus itself.
	Bus string `hcl:"bus,optional"`
	// Address is the I²C address, "0x48" (default) to "0x4b" by the ADDR
	// pin. Used by hwreg (see ParseAddress); New takes the address itself.
	Address string `hcl:"address,optional"`
	// Period is how often the agent reads, Go duration syntax; default 1s.
	Period string `hcl:"period,optional"`
	// Channels lists the inputs to convert: "ain0".."ain3" against ground,
	// or the differential pairs "ain0-ain1", "ain0-ain3", "ain1-ain3",
	// "ain2-ain3". Default all four single-ended inputs.
	Channels []string `hcl:"channels,optional"`
	// FullScale is the ± range in volts: 6.144, 4.096 (default), 2.048,
	// 1.024, 0.512 or 0.256. Smaller ranges resolve finer steps.
	FullScale float64 `hcl:"full_scale,optional"`
	// DataRate is the conversion rate in samples per second: 8, 16, 32,
	// 64, 128 (default), 250, 475 or 860. Each conversion takes 1/rate;
	// slower rates average more noise away.
	DataRate int `hcl:"data_rate,optional"`
}

// Dev is an ADS1115 as a sensor. Its methods may be called from any
// goroutine; conversions are serialised.
type Dev struct {
	descs []hw.Desc
	pins  []ads1x15.PinADC
	fsr   float64 // volts

	mu     sync.Mutex // guards closed, and serialises conversions
	closed bool
}

var _ hw.Sensor = (*Dev)(nil)

// New configures the ADS1115 at addr on b. It writes nothing until the first
// Read (periph's driver sends the config with each conversion). opts may be
// nil.
func New(b i2c.Bus, addr uint16, opts *Options) (*Dev, error) {
	if b == nil {
		return nil, errors.New("ads1115: nil bus")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = "ads1115"
	}
	fail := func(err error) (*Dev, error) { return nil, fmt.Errorf("ads1115: %s: %w", name, err) }
	if addr < 0x48 || addr > 0x4B {
		return fail(fmt.Errorf("address %#x: want 0x48 to 0x4b", addr))
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
	fsr := o.FullScale
	if fsr == 0 {
		fsr = DefaultFullScale
	}
	if !slices.Contains(fullScales, fsr) {
		return fail(fmt.Errorf("full_scale %v: want one of %v (volts)", fsr, fullScales))
	}
	rate := o.DataRate
	if rate == 0 {
		rate = DefaultDataRate
	}
	if !slices.Contains(dataRates, rate) {
		return fail(fmt.Errorf("data_rate %d: want one of %v (samples/s)", rate, dataRates))
	}
	names := o.Channels
	if len(names) == 0 {
		names = DefaultChannels
	}
	if time.Duration(len(names))*time.Second/time.Duration(rate) >= period {
		return fail(fmt.Errorf("%d channels at %d samples/s take longer than the period %v", len(names), rate, period))
	}
	dev, err := ads1x15.NewADS1115(b, &ads1x15.Opts{I2cAddress: addr})
	if err != nil {
		return fail(err)
	}
	d := &Dev{fsr: fsr}
	seen := map[string]bool{}
	for _, c := range names {
		ch, ok := channels[c]
		if !ok {
			return fail(fmt.Errorf("channel %q: want ain0..ain3, ain0-ain1, ain0-ain3, ain1-ain3 or ain2-ain3", c))
		}
		if seen[c] {
			return fail(fmt.Errorf("channel %q listed twice", c))
		}
		seen[c] = true
		// periph picks the smallest range that holds the voltage given and
		// the slowest rate at least as fast as the one given: passing the
		// exact values selects them.
		pin, err := dev.PinForChannel(ch, volts(fsr), physic.Frequency(rate)*physic.Hertz, ads1x15.BestQuality)
		if err != nil {
			return fail(fmt.Errorf("channel %s: %w", c, err))
		}
		d.pins = append(d.pins, pin)
		d.descs = append(d.descs, hw.Desc{
			ID:         name + "." + c,
			Kind:       "voltage",
			Unit:       "V",
			Period:     period,
			Resolution: fsr / 32768,
		})
	}
	return d, nil
}

// Describe lists one voltage channel per configured input.
func (d *Dev) Describe() []hw.Desc { return append([]hw.Desc(nil), d.descs...) }

// Read converts each channel once (1/data_rate each) and returns volts. ctx
// is checked between conversions.
func (d *Dev) Read(ctx context.Context) ([]hw.Reading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("ads1115: %s: closed", d.descs[0].ID)
	}
	rs := make([]hw.Reading, 0, len(d.pins))
	for i, p := range d.pins {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := p.Read()
		if err != nil {
			return nil, fmt.Errorf("ads1115: %s: convert: %w", d.descs[i].ID, err)
		}
		// From the raw code rather than periph's s.V, which is truncated
		// to whole nanovolts (half an LSB is 3.9 nV at ±0.256 V).
		v := float64(s.Raw) * d.fsr / 32768
		rs = append(rs, hw.Reading{ID: d.descs[i].ID, Time: time.Now(), Value: v})
	}
	return rs, nil
}

// Close marks the sensor closed; the chip is already powered down between
// single-shot conversions, and the bus belongs to the caller. Idempotent.
func (d *Dev) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// ParseAddress parses Options.Address: "" gives DefaultAddress; "0x48" and
// decimal forms are accepted.
func ParseAddress(s string) (uint16, error) {
	if s == "" {
		return DefaultAddress, nil
	}
	v, err := strconv.ParseUint(s, 0, 7)
	if err != nil {
		return 0, fmt.Errorf("ads1115: address %q: want 0x48 to 0x4b", s)
	}
	return uint16(v), nil
}

func volts(v float64) physic.ElectricPotential {
	return physic.ElectricPotential(v*1e6+0.5) * physic.MicroVolt
}
