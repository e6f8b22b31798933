package gpio_test

import (
	"errors"
	"testing"

	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestOutputSafeLevel(t *testing.T) {
	cases := []struct {
		name      string
		safe      bool
		activeLow bool
		wire      gpio.Level // what the pin must show at start and after Close
	}{
		{"off active high", false, false, gpio.Low},
		{"off active low", false, true, gpio.High},
		{"on active high", true, false, gpio.High},
		{"on active low", true, true, gpio.Low},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Start from the opposite level, as a pin left by a crash.
			p := &gpiotest.Pin{N: "GPIO27", L: !tc.wire}
			out, err := hwgpio.NewOutput(p, &hwgpio.OutputOptions{Name: "relay1", SafeLevel: tc.safe, ActiveLow: tc.activeLow})
			if err != nil {
				t.Fatal(err)
			}
			if p.Read() != tc.wire {
				t.Fatalf("after NewOutput pin is %s, want %s", p.Read(), tc.wire)
			}
			if err := out.Set(t.Context(), !tc.safe); err != nil {
				t.Fatal(err)
			}
			if p.Read() == tc.wire {
				t.Fatalf("Set(%v) left pin at %s", !tc.safe, p.Read())
			}
			if v, err := out.Get(t.Context()); err != nil || v != !tc.safe {
				t.Fatalf("Get = %v, %v; want %v", v, err, !tc.safe)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			if p.Read() != tc.wire {
				t.Fatalf("after Close pin is %s, want %s", p.Read(), tc.wire)
			}
			if err := out.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := out.Set(t.Context(), true); !errors.Is(err, hwgpio.ErrClosed) {
				t.Fatalf("Set after Close: %v, want ErrClosed", err)
			}
		})
	}
}

func TestOutputName(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO27"}
	out, err := hwgpio.NewOutput(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Name() != "GPIO27" {
		t.Errorf("Name = %q, want the pin name", out.Name())
	}
	if _, err := hwgpio.NewOutput(nil, nil); err == nil {
		t.Error("nil pin accepted")
	}
}

func TestParseLevel(t *testing.T) {
	cases := []struct {
		in      any
		want    bool
		wantErr bool
	}{
		{true, true, false},
		{false, false, false},
		{float64(1), true, false},
		{float64(0), false, false},
		{int64(1), true, false},
		{uint64(0), false, false},
		{"on", true, false},
		{"OFF", false, false},
		{"high", true, false},
		{"low", false, false},
		{float64(2), false, true},
		{"maybe", false, true},
		{nil, false, true},
		{[]byte{1}, false, true},
	}
	for _, tc := range cases {
		got, err := hwgpio.ParseLevel(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseLevel(%#v) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
