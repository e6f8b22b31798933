package ds18b20_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/ds18b20"
	"periph.io/x/conn/v3/onewire"
	"periph.io/x/conn/v3/onewire/onewiretest"
)

// addr is a ROM code with a valid CRC byte (0x74), family 0x28.
const addr onewire.Address = 0x740000070e41ac28

// matchROM prefixes a function command with Match ROM (0x55) and the ROM
// code, family byte first.
func matchROM(cmd ...byte) []byte {
	return append([]byte{0x55, 0x28, 0xac, 0x41, 0x0e, 0x07, 0x00, 0x00, 0x74}, cmd...)
}

// scratchpad builds the 9 bytes of Figure 7 of the datasheet: temperature
// LSB and MSB, TH and TL (power-up 0x4B, 0x46), configuration, reserved
// 0xFF, 0x0C, 0x10, CRC.
func scratchpad(temp uint16, config, crc byte) []byte {
	return []byte{byte(temp), byte(temp >> 8), 0x4B, 0x46, config, 0xFF, 0x0C, 0x10, crc}
}

// Read Scratchpad (0xBE) and Convert T (0x44, with the strong pull-up).
var (
	readScratchpad = matchROM(0xBE)
	convert        = onewiretest.IO{W: matchROM(0x44), Pull: onewire.StrongPullup}
)

func TestReadDatasheetTemperatures(t *testing.T) {
	// Table 1 of the datasheet, 12-bit configuration 0x7F (Figure 8: R1 R0
	// = 11); CRC bytes per the datasheet's CRC-8 (x^8 + x^5 + x^4 + 1).
	cases := []struct {
		name string
		code uint16
		crc  byte
		want float64
	}{
		{"+25.0625", 0x0191, 0x70, 25.0625},
		{"-10.125", 0xFF5E, 0x6A, -10.125},
		{"-55", 0xFC90, 0x4F, -55},
		{"+125", 0x07D0, 0xF4, 125},
		{"-0.5", 0xFFF8, 0xC3, -0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := &onewiretest.Playback{Ops: []onewiretest.IO{
					{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x1C)}, // power-up: 85 °C, 12 bits
					convert,
					{W: readScratchpad, R: scratchpad(tc.code, 0x7F, tc.crc)},
				}}
				d, err := ds18b20.New(bus, addr, &ds18b20.Options{Name: "tank"})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				rs, err := d.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took != 752*time.Millisecond {
					t.Errorf("Read took %v, want the 12-bit conversion time (750 ms, 752 rounded up)", took)
				}
				if len(rs) != 1 || rs[0].ID != "tank.temperature" || rs[0].Value != tc.want {
					t.Errorf("Read = %+v, want tank.temperature = %v", rs, tc.want)
				}
				if err := bus.Close(); err != nil {
					t.Fatal(err) // every bus operation above happened
				}
			})
		})
	}
}

func TestPowerOnValueIsAnError(t *testing.T) {
	// 85 °C is the power-on reset value: read right after Convert T it
	// means the conversion did not run (no power on a parasite bus).
	synctest.Test(t, func(t *testing.T) {
		bus := &onewiretest.Playback{Ops: []onewiretest.IO{
			{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x1C)},
			convert,
			{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x1C)},
		}}
		d, err := ds18b20.New(bus, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Read(t.Context()); err == nil || !strings.Contains(err.Error(), "the power-on value") {
			t.Errorf("Read = %v, want the power-on error", err)
		}
	})
}

func TestResolution(t *testing.T) {
	cases := []struct {
		bits   int
		config byte // configuration register written (TH = TL = 0)
		res    float64
		conv   time.Duration
	}{
		{9, 0x1F, 0.5, 94 * time.Millisecond},
		{10, 0x3F, 0.25, 188 * time.Millisecond},
		{11, 0x5F, 0.125, 376 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d bits", tc.bits), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := &onewiretest.Playback{Ops: []onewiretest.IO{
					{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x1C)},
					{W: matchROM(0x4E, 0, 0, tc.config)},            // Write Scratchpad
					{W: matchROM(0x48), Pull: onewire.StrongPullup}, // Copy Scratchpad to EEPROM
					convert,
					{W: readScratchpad, R: scratchpad(0x0191, 0x7F, 0x70)},
				}}
				d, err := ds18b20.New(bus, addr, &ds18b20.Options{Resolution: tc.bits, Period: "1s"})
				if err != nil {
					t.Fatal(err)
				}
				want := hw.Desc{ID: "ds18b20.temperature", Kind: "temperature", Unit: "°C", Period: time.Second, Resolution: tc.res}
				if ds := d.Describe(); len(ds) != 1 || ds[0] != want {
					t.Errorf("Describe = %+v, want %+v", ds, want)
				}
				start := time.Now()
				if _, err := d.Read(t.Context()); err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took != tc.conv {
					t.Errorf("Read took %v, want %v", took, tc.conv)
				}
				if err := bus.Close(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestReadCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &onewiretest.Playback{Ops: []onewiretest.IO{
			{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x1C)},
			convert,
		}}
		d, err := ds18b20.New(bus, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := d.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Read = %v, want DeadlineExceeded after 100ms", err)
		}
		if err := bus.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMisconfig(t *testing.T) {
	cases := []struct {
		name string
		addr onewire.Address
		opts ds18b20.Options
		ops  []onewiretest.IO
		want string
	}{
		{"not a thermometer", 0x00000000000001, ds18b20.Options{}, nil, "family 0x01 is not a DS18B20"},
		{"bad resolution", addr, ds18b20.Options{Resolution: 13}, nil, "resolution 13"},
		{"period shorter than conversion", addr, ds18b20.Options{Period: "500ms"}, nil, "must be longer than the 752ms"},
		{"bad period", addr, ds18b20.Options{Period: "x"}, nil, `period "x"`},
		{"no answer", addr, ds18b20.Options{}, []onewiretest.IO{{W: readScratchpad, R: []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}}, "28-0000070e41ac on playback: ds18b20: device did not respond"},
		{"bad crc", addr, ds18b20.Options{}, []onewiretest.IO{{W: readScratchpad, R: scratchpad(0x0550, 0x7F, 0x00)}}, "incorrect scratchpad CRC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ds18b20.New(&onewiretest.Playback{Ops: tc.ops}, tc.addr, &tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "ds18b20: ds18b20: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	cases := []struct {
		in   string
		want onewire.Address
		err  string
	}{
		{"28-0000070e41ac", addr, ""},
		{"0x740000070e41ac28", addr, ""},
		{"0x750000070e41ac28", 0, "CRC byte should be 0x74"},
		{"28-07", 0, "want 28-"},
		{"740000070e41ac28", 0, "want 28-"},
		{"zz-0000070e41ac", 0, "want 28-"},
	}
	for _, tc := range cases {
		got, err := ds18b20.ParseAddress(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("ParseAddress(%q) = %#x, %v; want %#x", tc.in, uint64(got), err, uint64(tc.want))
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseAddress(%q) error %v, want %q", tc.in, err, tc.err)
		}
	}
	if s := ds18b20.FormatAddress(addr); s != "28-0000070e41ac" {
		t.Errorf("FormatAddress = %q", s)
	}
}
