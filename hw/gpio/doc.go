// Package gpio drives general purpose I/O pins through periph: inputs that
// report their level and, debounced, their edges as they happen, and outputs
// that commands can set.
//
// An Input is an hw.EventSensor: Read samples the level, Events sends one
// reading per debounced change. An Output is an hw.Actuator that puts its
// pin to a safe level when it is created and again when it is closed, so a
// relay is off whenever the agent is not running it on purpose.
//
// Both take a pin object (periph's gpio.PinIn / gpio.PinOut); finding a pin
// by name is the job of package hwreg. Their option structs carry hcl tags
// so that a block such as
//
//	sensor "gpio" "door" {
//	  pin      = "GPIO17"
//	  pull     = "up"
//	  edge     = "both"
//	  debounce = "20ms"
//	}
//
// decodes into InputOptions directly, and
//
//	actuator "gpio" "relay1" {
//	  pin        = "GPIO27"
//	  active_low = true
//	}
//
// into OutputOptions; the block's name label goes into the Name field.
package gpio
