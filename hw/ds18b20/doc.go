// Package ds18b20 reads a Maxim DS18B20 1-Wire thermometer as an hw.Sensor,
// on top of periph's devices/v3/ds18b20 driver (scratchpad, CRC check,
// resolution setting).
//
// Each Read starts a conversion with the bus's strong pull-up (so parasite
// powered sensors work too), waits the conversion time of the chosen
// resolution, honouring ctx, then reads the scratchpad. Values are °C as
// float64 with the resolution of the chosen bits: 0.5 °C at 9 bits (94 ms)
// up to 0.0625 °C at 12 bits (750 ms, the default). The sensor is accurate
// to ±0.5 °C whatever the resolution.
//
// Addresses are written as Linux names them under /sys/bus/w1/devices,
// "28-0000070e41ac" (family, then the 48-bit serial), or as the 64-bit ROM
// code "0x740000070e41ac28" (CRC, serial, family); see ParseAddress.
//
// Datasheet: Maxim DS18B20 (19-7487): temperature format Table 1, memory
// map Figure 7, configuration register Figure 8 and Table 2, commands in
// the "ROM commands" and "DS18B20 function commands" sections.
//
// A block such as
//
//	sensor "ds18b20" "tank" {
//	  bus        = "w1"
//	  address    = "28-0000070e41ac"
//	  resolution = 12
//	}
//
// decodes into Options.
package ds18b20
