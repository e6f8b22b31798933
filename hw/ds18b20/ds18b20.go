package ds18b20

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"periph.io/x/conn/v3/onewire"
	"periph.io/x/conn/v3/physic"
	pds "periph.io/x/devices/v3/ds18b20"
)

// Defaults of Options.
const (
	DefaultPeriod     = 10 * time.Second
	DefaultResolution = 12 // bits
)

// Family codes (the low byte of the ROM code) this package accepts.
const (
	FamilyDS18B20 = 0x28
	FamilyDS1822  = 0x22 // same protocol, ±2 °C
	FamilyDS18S20 = 0x10 // 12 bits only
)

// Options configures New. The zero value is valid.
type Options struct {
	// Name prefixes the channel id ("<name>.temperature"). It comes from
	// the block's name label, so it has no hcl tag. Default "ds18b20".
	Name string
	// Bus is the periph 1-Wire bus name; "" is the first bus. Used by
	// hwreg; New takes the bus itself.
	Bus string `hcl:"bus,optional"`
	// Address is the sensor's ROM code, "28-0000070e41ac" or
	// "0x740000070e41ac28". "" lets hwreg use the only DS18B20 on the bus
	// (and fail, listing them, when there are several). New takes the
	// address itself.
	Address string `hcl:"address,optional"`
	// Period is how often the agent reads, Go duration syntax; default 10s.
	// It must be longer than the conversion time.
	Period string `hcl:"period,optional"`
	// Resolution is 9, 10, 11 or 12 (default) bits: 0.5, 0.25, 0.125 or
	// 0.0625 °C, converted in 94, 188, 375 or 750 ms. A resolution that
	// differs from the sensor's is written to its EEPROM once.
	Resolution int `hcl:"resolution,optional"`
}

// Dev is a DS18B20 as a sensor. Its methods may be called from any
// goroutine; reads are serialised.
type Dev struct {
	dev  *pds.Dev
	ow   onewire.Dev
	conv time.Duration
	desc hw.Desc

	mu     sync.Mutex // guards closed, and serialises conversions
	closed bool
}

var _ hw.Sensor = (*Dev)(nil)

// New reads the scratchpad of the sensor at addr on b (checking that it
// answers with a valid CRC) and sets its resolution. opts may be nil.
func New(b onewire.Bus, addr onewire.Address, opts *Options) (*Dev, error) {
	if b == nil {
		return nil, errors.New("ds18b20: nil bus")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	name := o.Name
	if name == "" {
		name = "ds18b20"
	}
	fail := func(err error) (*Dev, error) { return nil, fmt.Errorf("ds18b20: %s: %w", name, err) }
	switch f := byte(addr); f {
	case FamilyDS18B20, FamilyDS1822, FamilyDS18S20:
	default:
		return fail(fmt.Errorf("address %s: family %#02x is not a DS18B20 (0x28)", FormatAddress(addr), f))
	}
	bits := o.Resolution
	if bits == 0 {
		bits = DefaultResolution
	}
	if bits < 9 || bits > 12 {
		return fail(fmt.Errorf("resolution %d: want 9 to 12 bits", bits))
	}
	period := DefaultPeriod
	if o.Period != "" {
		var err error
		if period, err = time.ParseDuration(o.Period); err != nil {
			return fail(fmt.Errorf("period %q: %w", o.Period, err))
		}
	}
	conv := ConversionTime(bits)
	if period <= conv {
		return fail(fmt.Errorf("period %v: must be longer than the %v a %d-bit conversion takes", period, conv, bits))
	}
	dev, err := pds.New(b, addr, bits)
	if err != nil {
		return fail(fmt.Errorf("%s on %s: %w", FormatAddress(addr), b, err))
	}
	return &Dev{
		dev:  dev,
		ow:   onewire.Dev{Bus: b, Addr: addr},
		conv: conv,
		desc: hw.Desc{
			ID:         name + ".temperature",
			Kind:       "temperature",
			Unit:       "°C",
			Period:     period,
			Resolution: 1 / float64(int(1)<<(bits-8)), // 0.5 at 9 bits
		},
	}, nil
}

// ConversionTime is the datasheet's maximum conversion time at a
// resolution (Table 2), rounded up to whole milliseconds.
func ConversionTime(bits int) time.Duration {
	return (94 << (bits - 9)) * time.Millisecond
}

// Describe returns the one channel, "<name>.temperature" in °C.
func (d *Dev) Describe() []hw.Desc { return []hw.Desc{d.desc} }

// Read converts once and returns the temperature. It takes the conversion
// time of the resolution; a ctx that ends first aborts the read.
func (d *Dev) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("ds18b20: %s: closed", d.desc.ID)
	}
	// Convert T (0x44) with the strong pull-up held during the conversion.
	if err := d.ow.TxPower([]byte{0x44}, nil); err != nil {
		return nil, fmt.Errorf("ds18b20: %s: convert: %w", d.desc.ID, err)
	}
	t := time.NewTimer(d.conv)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	}
	temp, err := d.dev.LastTemp()
	if err != nil {
		return nil, fmt.Errorf("ds18b20: %s: read: %w", d.desc.ID, err)
	}
	v := float64(temp-physic.ZeroCelsius) / float64(physic.Celsius)
	if v == 85 {
		// 85 °C is the power-on value of the temperature register: read
		// after Convert T it means the conversion did not run (too little
		// current on a parasite-powered bus). periph v3.7.4 means to catch
		// this in LastTemp but compares against 85 K, so we check here.
		// The price: a true 85.0000 °C reads as an error.
		return nil, fmt.Errorf("ds18b20: %s: read 85 °C, the power-on value: the conversion did not run (insufficient pull-up?)", d.desc.ID)
	}
	return []hw.Reading{{ID: d.desc.ID, Time: time.Now(), Value: v}}, nil
}

// Close marks the sensor closed; the bus belongs to the caller. Idempotent.
func (d *Dev) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// ParseAddress parses a ROM code written as Linux does,
// "28-0000070e41ac" (family, 48-bit serial; the CRC is computed), or as the
// 64-bit number "0x740000070e41ac28", whose CRC byte must be right.
func ParseAddress(s string) (onewire.Address, error) {
	if fam, serial, ok := strings.Cut(s, "-"); ok {
		f, err1 := strconv.ParseUint(fam, 16, 8)
		n, err2 := strconv.ParseUint(serial, 16, 48)
		if err1 != nil || err2 != nil || len(fam) != 2 || len(serial) != 12 {
			return 0, fmt.Errorf("ds18b20: address %q: want 28-xxxxxxxxxxxx or 0x followed by 16 hex digits", s)
		}
		a := onewire.Address(f | n<<8)
		rom := romBytes(a)
		return a | onewire.Address(onewire.CalcCRC(rom[:7]))<<56, nil
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil || !strings.HasPrefix(s, "0x") {
		return 0, fmt.Errorf("ds18b20: address %q: want 28-xxxxxxxxxxxx or 0x followed by 16 hex digits", s)
	}
	a := onewire.Address(v)
	if rom := romBytes(a); !onewire.CheckCRC(rom[:]) {
		return 0, fmt.Errorf("ds18b20: address %q: CRC byte should be %#02x", s, onewire.CalcCRC(rom[:7]))
	}
	return a, nil
}

// FormatAddress writes a ROM code as Linux names the device,
// "28-0000070e41ac".
func FormatAddress(a onewire.Address) string {
	return fmt.Sprintf("%02x-%012x", byte(a), uint64(a>>8)&(1<<48-1))
}

// romBytes is the ROM code in bus order: family first, CRC last.
func romBytes(a onewire.Address) [8]byte {
	var b [8]byte
	for i := range b {
		b[i] = byte(a >> (8 * i))
	}
	return b
}
