// Package bme280 reads a Bosch BME280 (temperature, humidity, pressure) or
// BMP280 (temperature, pressure) over I²C, as an hw.Sensor, on top of
// periph's devices/v3/bmxx80 driver, which detects the chip and applies the
// calibration.
//
// Readings are float64 in °C, % relative humidity and hPa, with the
// resolutions of the datasheet's integer compensation: 0.01 °C, and, as
// announced to the hub, 0.01 % and 0.01 hPa (the chip's own steps are finer:
// 1/1024 % and 1/256 Pa, below its noise).
//
// Each Read triggers one measurement in forced mode, so the chip sleeps
// between samples and does not warm itself: Bosch's recommended setting for
// weather monitoring.
//
// Datasheets: BME280 BST-BME280-DS002 (registers: section 5.3 memory map and
// 5.4; compensation: section 4.2.3); BMP280 BST-BMP280-DS001 (section 3.12
// gives the worked compensation example the tests reproduce).
//
// A block such as
//
//	sensor "bme280" "env" {
//	  bus     = "1"
//	  address = "0x76"
//	  period  = "10s"
//	}
//
// decodes into Options (HCL has no hexadecimal literals, hence the string).
package bme280
