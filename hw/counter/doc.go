// Package counter counts pulses on a GPIO input and reports them as a rate:
// flow meters (pulses per litre), anemometers and rain gauges (pulses per
// turn or tip), energy meters (pulses per Wh).
//
// periph has no hardware pulse counter, so a Counter counts edges in
// software while its Events method runs (it sends no readings itself), and
// each Read returns the pulses since the previous Read divided by the time
// between them, in Hz. The agent reads every period, so a reading is the
// rate over the last period. Converting Hz to
// litres per minute or km/h is the dashboard's business; the factor depends
// on the device.
//
// A block such as
//
//	sensor "counter" "flow" {
//	  pin    = "GPIO22"
//	  pull   = "up"
//	  edge   = "falling"
//	  period = "10s"
//	}
//
// decodes into Options; the name label goes into Options.Name.
package counter
