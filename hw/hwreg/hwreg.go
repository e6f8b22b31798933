package hwreg

import (
	"fmt"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/onewire"
	"periph.io/x/conn/v3/onewire/onewirereg"
	"periph.io/x/host/v3"
)

// Init loads periph's host drivers (host.Init). It is safe to call more
// than once: periph keeps the first result. The Open functions call it.
func Init() error {
	st, err := host.Init()
	if err != nil {
		return fmt.Errorf("hwreg: periph host init: %w", err)
	}
	_ = st // st.Failed lists drivers that did not load, which is normal off a Pi
	return nil
}

// OpenI2C opens the I²C bus with this name, alias or number; "" opens the
// first bus periph found. The caller closes it.
func OpenI2C(name string) (i2c.BusCloser, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	refs := i2creg.All()
	if len(refs) == 0 {
		return nil, fmt.Errorf("hwreg: i2c bus %q not found; periph found none (on a Raspberry Pi: dtparam=i2c_arm=on and the i2c-dev module)", name)
	}
	if name != "" && !knownBus(name, refs, func(r *i2creg.Ref) (string, []string, int) { return r.Name, r.Aliases, r.Number }) {
		return nil, fmt.Errorf("hwreg: i2c bus %q not found; periph found: %s", name,
			listBuses(refs, func(r *i2creg.Ref) (string, []string, int) { return r.Name, r.Aliases, r.Number }))
	}
	b, err := i2creg.Open(name)
	if err != nil {
		return nil, fmt.Errorf("hwreg: open i2c bus %q: %w", name, err)
	}
	return b, nil
}

// OpenOneWire opens the 1-Wire bus with this name, alias or number; "" opens
// the first bus periph found. The caller closes it.
func OpenOneWire(name string) (onewire.BusCloser, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	refs := onewirereg.All()
	if len(refs) == 0 {
		return nil, fmt.Errorf("hwreg: 1-wire bus %q not found; periph found none (on a Raspberry Pi: dtoverlay=w1-gpio)", name)
	}
	if name != "" && !knownBus(name, refs, func(r *onewirereg.Ref) (string, []string, int) { return r.Name, r.Aliases, r.Number }) {
		return nil, fmt.Errorf("hwreg: 1-wire bus %q not found; periph found: %s", name,
			listBuses(refs, func(r *onewirereg.Ref) (string, []string, int) { return r.Name, r.Aliases, r.Number }))
	}
	b, err := onewirereg.Open(name)
	if err != nil {
		return nil, fmt.Errorf("hwreg: open 1-wire bus %q: %w", name, err)
	}
	return b, nil
}

// Pin returns the GPIO pin with this name, number or alias ("GPIO17",
// "17", "P1_11" on a Raspberry Pi).
func Pin(name string) (gpio.PinIO, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("hwreg: gpio pin name is empty; periph found: %s", listPins())
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("hwreg: gpio pin %q not found; periph found: %s", name, listPins())
	}
	return p, nil
}

func knownBus[R any](name string, refs []R, fields func(R) (string, []string, int)) bool {
	n, numErr := strconv.Atoi(name)
	for _, r := range refs {
		rn, aliases, num := fields(r)
		if rn == name || (numErr == nil && num == n && num >= 0) {
			return true
		}
		for _, a := range aliases {
			if a == name {
				return true
			}
		}
	}
	return false
}

func listBuses[R any](refs []R, fields func(R) (string, []string, int)) string {
	var parts []string
	for _, r := range refs {
		name, aliases, num := fields(r)
		s := strconv.Quote(name)
		var extra []string
		if num >= 0 {
			extra = append(extra, "number "+strconv.Itoa(num))
		}
		for _, a := range aliases {
			extra = append(extra, strconv.Quote(a))
		}
		if len(extra) > 0 {
			s += " (" + strings.Join(extra, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func listPins() string {
	pins := gpioreg.All()
	if len(pins) == 0 {
		return "none (is /dev/gpiochip0 there and readable?)"
	}
	names := make([]string, len(pins))
	for i, p := range pins {
		names[i] = strconv.Quote(p.Name())
	}
	return strings.Join(names, ", ")
}
