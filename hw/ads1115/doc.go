// Package ads1115 reads the channels of a TI ADS1115 16-bit ADC over I²C
// as an hw.Sensor, on top of periph's devices/v3/ads1x15 driver.
//
// Each Read converts every configured channel once, in single-shot mode (the
// chip powers down between conversions), and returns volts as float64. The
// resolution announced per channel is one LSB of the chosen full-scale
// range: FSR/32768, from 187.5 µV at ±6.144 V to 7.8125 µV at ±0.256 V.
// Note that the full-scale range never lets an input exceed VDD + 0.3 V.
//
// Datasheet: TI SBAS444 (ADS111x): I²C addresses section 9.5.1.1 (Table 4),
// config register section 9.6.3 (Table 8), output codes section 9.3.3
// (Table 3).
//
// A block such as
//
//	sensor "ads1115" "adc" {
//	  bus        = "1"
//	  address    = "0x48"
//	  channels   = ["ain0", "ain2-ain3"]
//	  full_scale = 4.096
//	}
//
// decodes into Options; ids are "adc.ain0", "adc.ain2-ain3".
package ads1115
