package hwreg_test

import (
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/hw/ads1115"
	"github.com/edgeplane/edgeplane/hw/bme280"
	"github.com/edgeplane/edgeplane/hw/counter"
	"github.com/edgeplane/edgeplane/hw/ds18b20"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"github.com/edgeplane/edgeplane/hw/hwreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/onewire"
	"periph.io/x/conn/v3/onewire/onewirereg"
	"periph.io/x/conn/v3/onewire/onewiretest"
)

// The fakes are registered in periph's registries (process-wide, owned by
// periph) under names no host driver uses, and removed after each test.

func registerI2C(t *testing.T, name string, aliases []string, bus *i2ctest.Playback) {
	t.Helper()
	if err := hwreg.Init(); err != nil {
		t.Fatal(err)
	}
	if err := i2creg.Register(name, aliases, -1, func() (i2c.BusCloser, error) { return bus, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = i2creg.Unregister(name) })
}

func registerOneWire(t *testing.T, name string, bus *onewiretest.Playback) {
	t.Helper()
	if err := hwreg.Init(); err != nil {
		t.Fatal(err)
	}
	if err := onewirereg.Register(name, nil, -1, func() (onewire.BusCloser, error) { return bus, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = onewirereg.Unregister(name) })
}

func registerPin(t *testing.T, name string) *gpiotest.Pin {
	t.Helper()
	if err := hwreg.Init(); err != nil {
		t.Fatal(err)
	}
	p := &gpiotest.Pin{N: name, Num: -1, EdgesChan: make(chan gpio.Level)}
	if err := gpioreg.Register(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gpioreg.Unregister(name) })
	return p
}

func TestMissingNames(t *testing.T) {
	registerI2C(t, "FAKE-I2C-ENV", []string{"fake-env"}, &i2ctest.Playback{})
	registerOneWire(t, "FAKE-W1", &onewiretest.Playback{})
	registerPin(t, "FAKE_GPIO5")
	registerPin(t, "FAKE_GPIO6")

	cases := []struct {
		name string
		open func() error
		want []string // all must appear in the error
	}{
		{"bme280 on an unknown bus", func() error {
			_, err := hwreg.OpenBME280(&bme280.Options{Bus: "7"})
			return err
		}, []string{`i2c bus "7" not found`, `"FAKE-I2C-ENV" ("fake-env")`}},
		{"ads1115 on an unknown bus", func() error {
			_, err := hwreg.OpenADS1115(&ads1115.Options{Bus: "I2C9"})
			return err
		}, []string{`i2c bus "I2C9" not found`, `"FAKE-I2C-ENV"`}},
		{"ds18b20 on an unknown bus", func() error {
			_, err := hwreg.OpenDS18B20(&ds18b20.Options{Bus: "w1-9", Address: "28-0000070e41ac"})
			return err
		}, []string{`1-wire bus "w1-9" not found`, `"FAKE-W1"`}},
		{"input on an unknown pin", func() error {
			_, err := hwreg.OpenInput(&hwgpio.InputOptions{Pin: "GPIO99"})
			return err
		}, []string{`gpio pin "GPIO99" not found`, `"FAKE_GPIO5", "FAKE_GPIO6"`}},
		{"output without a pin", func() error {
			_, err := hwreg.OpenOutput(&hwgpio.OutputOptions{})
			return err
		}, []string{"gpio pin name is empty", `"FAKE_GPIO5"`}},
		{"counter on an unknown pin", func() error {
			_, err := hwreg.OpenCounter(&counter.Options{Pin: "P1_40"})
			return err
		}, []string{`gpio pin "P1_40" not found`, `"FAKE_GPIO6"`}},
		{"bad bme280 address", func() error {
			_, err := hwreg.OpenBME280(&bme280.Options{Bus: "fake-env", Address: "0x76x"})
			return err
		}, []string{`address "0x76x"`}},
		{"bad ds18b20 address", func() error {
			_, err := hwreg.OpenDS18B20(&ds18b20.Options{Address: "28-1"})
			return err
		}, []string{`address "28-1"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if err == nil {
				t.Fatal("opened")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "hwreg: ") && !strings.Contains(err.Error(), "address") {
				t.Errorf("error %q does not start with the package", err)
			}
		})
	}
}

func TestOpenBME280ByAlias(t *testing.T) {
	// A BMP280 (chip id 0x58) at 0x77 on the bus found by its alias.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x77, W: []byte{0xD0}, R: []byte{0x58}},
		{Addr: 0x77, W: []byte{0x88}, R: make([]byte, 26)},
		{Addr: 0x77, W: []byte{0xF4, 0x6C, 0xF5, 0xA0, 0xF4, 0x6C}},
	}}
	registerI2C(t, "FAKE-I2C-BMP", []string{"fake-bmp"}, bus)
	s, err := hwreg.OpenBME280(&bme280.Options{Name: "air", Bus: "fake-bmp", Address: "0x77"})
	if err != nil {
		t.Fatal(err)
	}
	if ds := s.Describe(); len(ds) != 2 || ds[0].ID != "air.temperature" || ds[1].ID != "air.pressure" {
		t.Errorf("Describe = %+v", ds)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err) // closes the Playback bus too, which checks every op ran
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenDS18B20Search(t *testing.T) {
	a1, _ := ds18b20.ParseAddress("28-0000070e41ac")
	a2, _ := ds18b20.ParseAddress("28-00000a1b2c3d")
	search := onewiretest.IO{W: []byte{0xF0}} // Search ROM, one per device found
	match := func(a onewire.Address, cmd byte) []byte {
		w := []byte{0x55}
		for i := range 8 {
			w = append(w, byte(a>>(8*i)))
		}
		return append(w, cmd)
	}
	spad := []byte{0x91, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10, 0x70} // 25.0625 °C, 12 bits

	t.Run("the only thermometer is used", func(t *testing.T) {
		bus := &onewiretest.Playback{Devices: []onewire.Address{a1}, Ops: []onewiretest.IO{
			search,
			{W: match(a1, 0xBE), R: spad},
		}}
		registerOneWire(t, "FAKE-W1-ONE", bus)
		s, err := hwreg.OpenDS18B20(&ds18b20.Options{Bus: "FAKE-W1-ONE", Name: "tank"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("several need an address", func(t *testing.T) {
		bus := &onewiretest.Playback{Devices: []onewire.Address{a1, a2}, Ops: []onewiretest.IO{search, search}}
		registerOneWire(t, "FAKE-W1-TWO", bus)
		_, err := hwreg.OpenDS18B20(&ds18b20.Options{Bus: "FAKE-W1-TWO"})
		if err == nil || !strings.Contains(err.Error(), "2 thermometers") ||
			!strings.Contains(err.Error(), "28-0000070e41ac") || !strings.Contains(err.Error(), "28-00000a1b2c3d") {
			t.Errorf("err = %v, want both addresses listed", err)
		}
	})
	t.Run("a wrong address lists the devices", func(t *testing.T) {
		none := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
		bus := &onewiretest.Playback{Devices: []onewire.Address{a1}, Ops: []onewiretest.IO{
			{W: match(a2, 0xBE), R: none}, // nobody answers at a2
			search,
		}}
		registerOneWire(t, "FAKE-W1-WRONG", bus)
		_, err := hwreg.OpenDS18B20(&ds18b20.Options{Bus: "FAKE-W1-WRONG", Address: "28-00000a1b2c3d"})
		if err == nil || !strings.Contains(err.Error(), "did not respond") || !strings.Contains(err.Error(), "devices on 1-wire bus playback: 28-0000070e41ac") {
			t.Errorf("err = %v, want the device found listed", err)
		}
	})
}

func TestOpenOutputAppliesSafeLevel(t *testing.T) {
	p := registerPin(t, "FAKE_GPIO12")
	p.L = gpio.High
	out, err := hwreg.OpenOutput(&hwgpio.OutputOptions{Pin: "FAKE_GPIO12"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Name() != "FAKE_GPIO12" || p.Read() != gpio.Low {
		t.Errorf("name %q, pin %s; want the pin name and low", out.Name(), p.Read())
	}
	in, err := hwreg.OpenInput(&hwgpio.InputOptions{Pin: "FAKE_GPIO12", Name: "loop"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Describe()[0].ID != "loop.level" {
		t.Errorf("Describe = %+v", in.Describe())
	}
}
