package ads1115_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/ads1115"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// conversion is one single-shot conversion as periph's driver does it:
// write the config register (pointer 0x01), then read the conversion
// register (pointer 0x00).
//
// Config bits (TI SBAS444, section 9.6.3, Table 8): OS=1 start, MUX, PGA,
// MODE=1 single-shot, DR, COMP_QUE=11 comparator off.
func conversion(config uint16, code uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: 0x48, W: []byte{0x01, byte(config >> 8), byte(config)}},
		{Addr: 0x48, W: []byte{0x00}, R: []byte{byte(code >> 8), byte(code)}},
	}
}

func TestReadOutputCodes(t *testing.T) {
	// Output codes from TI SBAS444 section 9.3.3, Table 3: +FS is 0x7FFF,
	// one LSB is FSR/2^15, -FS is 0x8000.
	const (
		ain0   = 0xC383 // OS 1, MUX 100 AIN0/GND, PGA 001 ±4.096 V, MODE 1, DR 100 128 SPS, COMP_QUE 11
		ain1   = 0xD383 // MUX 101 AIN1/GND
		ain0m1 = 0x8383 // MUX 000 AIN0-AIN1
		ain2m3 = 0xB383 // MUX 011 AIN2-AIN3
	)
	var ops []i2ctest.IO
	ops = append(ops, conversion(ain0, 0x4000)...)   // half scale: 2.048 V
	ops = append(ops, conversion(ain1, 0x0001)...)   // 1 LSB: 125 µV
	ops = append(ops, conversion(ain0m1, 0x8000)...) // -FS: -4.096 V
	ops = append(ops, conversion(ain2m3, 0x7FFF)...) // +FS: 4.096 V - 1 LSB
	bus := &i2ctest.Playback{Ops: ops}
	d, err := ads1115.New(bus, 0x48, &ads1115.Options{Name: "adc", Channels: []string{"ain0", "ain1", "ain0-ain1", "ain2-ain3"}})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := d.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id string
		v  float64
	}{
		{"adc.ain0", 2.048},
		{"adc.ain1", 0.000125},
		{"adc.ain0-ain1", -4.096},
		{"adc.ain2-ain3", 4.095875},
	}
	if len(rs) != len(want) {
		t.Fatalf("Read = %+v", rs)
	}
	for i, w := range want {
		if rs[i].ID != w.id || rs[i].Value != w.v {
			t.Errorf("reading %d = %s %v, want %s %v", i, rs[i].ID, rs[i].Value, w.id, w.v)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err) // all four conversions happened
	}
}

func TestGainAndRate(t *testing.T) {
	cases := []struct {
		fsr    float64
		rate   int
		config uint16 // AIN0 against GND
		lsb    float64
	}{
		{6.144, 8, 0xC103, 0.0001875},   // PGA 000, DR 000
		{4.096, 128, 0xC383, 0.000125},  // PGA 001, DR 100 (defaults)
		{2.048, 250, 0xC5A3, 0.0000625}, // PGA 010, DR 101
		{1.024, 475, 0xC7C3, 0.00003125},
		{0.512, 860, 0xC9E3, 0.000015625},
		{0.256, 16, 0xCB23, 0.0000078125},
	}
	for _, tc := range cases {
		bus := &i2ctest.Playback{Ops: conversion(tc.config, 0x0001)}
		d, err := ads1115.New(bus, 0x48, &ads1115.Options{Name: "adc", Channels: []string{"ain0"}, FullScale: tc.fsr, DataRate: tc.rate, Period: "10s"})
		if err != nil {
			t.Fatal(err)
		}
		want := hw.Desc{ID: "adc.ain0", Kind: "voltage", Unit: "V", Period: 10 * time.Second, Resolution: tc.lsb}
		if ds := d.Describe(); len(ds) != 1 || ds[0] != want {
			t.Errorf("±%v V: Describe = %+v, want %+v", tc.fsr, ds, want)
		}
		rs, err := d.Read(t.Context())
		if err != nil {
			t.Fatalf("±%v V at %d SPS: %v", tc.fsr, tc.rate, err)
		}
		if rs[0].Value != tc.lsb {
			t.Errorf("±%v V: one LSB read as %v V, want %v", tc.fsr, rs[0].Value, tc.lsb)
		}
		if err := bus.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDefaults(t *testing.T) {
	d, err := ads1115.New(&i2ctest.Playback{}, 0x48, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := d.Describe()
	if len(ds) != 4 || ds[0].ID != "ads1115.ain0" || ds[3].ID != "ads1115.ain3" || ds[0].Period != time.Second || ds[0].Resolution != 0.000125 {
		t.Errorf("Describe = %+v", ds)
	}
}

func TestMisconfig(t *testing.T) {
	cases := []struct {
		name string
		addr uint16
		opts ads1115.Options
		want string
	}{
		{"wrong address", 0x50, ads1115.Options{}, "address 0x50: want 0x48 to 0x4b"},
		{"unknown channel", 0x48, ads1115.Options{Channels: []string{"ain4"}}, `channel "ain4"`},
		{"channel twice", 0x48, ads1115.Options{Channels: []string{"ain1", "ain1"}}, `channel "ain1" listed twice`},
		{"odd full scale", 0x48, ads1115.Options{FullScale: 3.3}, "full_scale 3.3"},
		{"odd data rate", 0x48, ads1115.Options{DataRate: 100}, "data_rate 100"},
		{"bad period", 0x48, ads1115.Options{Period: "1"}, `period "1"`},
		{"too slow for the period", 0x48, ads1115.Options{DataRate: 8, Period: "100ms"}, "take longer than the period"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ads1115.New(&i2ctest.Playback{}, tc.addr, &tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "ads1115: ads1115: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadFailsOnBusError(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true}
	d, err := ads1115.New(bus, 0x48, &ads1115.Options{Channels: []string{"ain2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(t.Context()); err == nil || !strings.Contains(err.Error(), "ads1115: ads1115.ain2: convert") {
		t.Errorf("Read on a dead bus: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with cancelled ctx: %v", err)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]uint16{"": 0x48, "0x49": 0x49, "75": 0x4B} {
		if got, err := ads1115.ParseAddress(in); err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	if _, err := ads1115.ParseAddress("0x"); err == nil {
		t.Error(`ParseAddress("0x") succeeded`)
	}
}
