package hwreg

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/ads1115"
	"github.com/edgeplane/edgeplane/hw/bme280"
	"github.com/edgeplane/edgeplane/hw/counter"
	"github.com/edgeplane/edgeplane/hw/ds18b20"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"periph.io/x/conn/v3/onewire"
)

// OpenBME280 opens opts.Bus, parses opts.Address and builds the sensor;
// closing the sensor closes the bus. opts may be nil.
func OpenBME280(opts *bme280.Options) (hw.Sensor, error) {
	var o bme280.Options
	if opts != nil {
		o = *opts
	}
	addr, err := bme280.ParseAddress(o.Address)
	if err != nil {
		return nil, err
	}
	bus, err := OpenI2C(o.Bus)
	if err != nil {
		return nil, err
	}
	d, err := bme280.New(bus, addr, &o)
	if err != nil {
		return nil, errors.Join(err, bus.Close())
	}
	return &owned{Sensor: d, bus: bus}, nil
}

// OpenADS1115 opens opts.Bus, parses opts.Address and builds the sensor;
// closing the sensor closes the bus. opts may be nil.
func OpenADS1115(opts *ads1115.Options) (hw.Sensor, error) {
	var o ads1115.Options
	if opts != nil {
		o = *opts
	}
	addr, err := ads1115.ParseAddress(o.Address)
	if err != nil {
		return nil, err
	}
	bus, err := OpenI2C(o.Bus)
	if err != nil {
		return nil, err
	}
	d, err := ads1115.New(bus, addr, &o)
	if err != nil {
		return nil, errors.Join(err, bus.Close())
	}
	return &owned{Sensor: d, bus: bus}, nil
}

// OpenDS18B20 opens opts.Bus and builds the sensor at opts.Address, or,
// when the address is empty, at the only DS18B20 the bus search finds.
// When the sensor does not answer, the error lists what the search found.
// Closing the sensor closes the bus. opts may be nil.
func OpenDS18B20(opts *ds18b20.Options) (hw.Sensor, error) {
	var o ds18b20.Options
	if opts != nil {
		o = *opts
	}
	var addr onewire.Address
	if o.Address != "" {
		var err error
		if addr, err = ds18b20.ParseAddress(o.Address); err != nil {
			return nil, err
		}
	}
	bus, err := OpenOneWire(o.Bus)
	if err != nil {
		return nil, err
	}
	if o.Address == "" {
		found, err := bus.Search(false)
		var thermometers []onewire.Address
		for _, a := range found {
			if byte(a) == ds18b20.FamilyDS18B20 || byte(a) == ds18b20.FamilyDS1822 || byte(a) == ds18b20.FamilyDS18S20 {
				thermometers = append(thermometers, a)
			}
		}
		if len(thermometers) != 1 {
			msg := fmt.Sprintf("hwreg: ds18b20: no address set and %d thermometers on 1-wire bus %s; found: %s", len(thermometers), bus, listDevices(found))
			if err != nil {
				return nil, errors.Join(fmt.Errorf("%s: search: %w", msg, err), bus.Close())
			}
			return nil, errors.Join(errors.New(msg), bus.Close())
		}
		addr = thermometers[0]
	}
	d, err := ds18b20.New(bus, addr, &o)
	if err != nil {
		if found, serr := bus.Search(false); serr == nil {
			err = fmt.Errorf("%w; devices on 1-wire bus %s: %s", err, bus, listDevices(found))
		}
		return nil, errors.Join(err, bus.Close())
	}
	return &owned{Sensor: d, bus: bus}, nil
}

// OpenInput finds opts.Pin and builds a GPIO input on it. opts must not be
// nil: the pin is required.
func OpenInput(opts *hwgpio.InputOptions) (*hwgpio.Input, error) {
	if opts == nil {
		opts = &hwgpio.InputOptions{}
	}
	p, err := Pin(opts.Pin)
	if err != nil {
		return nil, err
	}
	return hwgpio.NewInput(p, opts)
}

// OpenOutput finds opts.Pin and builds a GPIO output on it, at its safe
// level.
func OpenOutput(opts *hwgpio.OutputOptions) (*hwgpio.Output, error) {
	if opts == nil {
		opts = &hwgpio.OutputOptions{}
	}
	p, err := Pin(opts.Pin)
	if err != nil {
		return nil, err
	}
	return hwgpio.NewOutput(p, opts)
}

// OpenCounter finds opts.Pin and builds a pulse counter on it.
func OpenCounter(opts *counter.Options) (*counter.Counter, error) {
	if opts == nil {
		opts = &counter.Options{}
	}
	p, err := Pin(opts.Pin)
	if err != nil {
		return nil, err
	}
	return counter.New(p, opts)
}

// owned is a sensor that owns the bus it was built on.
type owned struct {
	hw.Sensor

	mu  sync.Mutex // guards bus
	bus io.Closer  // nil once closed
}

// Close closes the sensor, then its bus. Idempotent as far as the sensor
// is; the bus is closed once.
func (o *owned) Close() error {
	err := o.Sensor.Close()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bus != nil {
		err = errors.Join(err, o.bus.Close())
		o.bus = nil
	}
	return err
}

func listDevices(as []onewire.Address) string {
	if len(as) == 0 {
		return "none"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = ds18b20.FormatAddress(a)
	}
	return strings.Join(s, ", ")
}
