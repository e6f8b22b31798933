package gpio

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// ParsePull maps the configuration words to periph's pull values. The empty
// string leaves the pin's pull as it is, which is right when the board has
// its own resistor.
func ParsePull(s string) (gpio.Pull, error) {
	switch s {
	case "":
		return gpio.PullNoChange, nil
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none", "float":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("pull %q: want up, down or none", s)
}

// ParseEdge maps the configuration words to periph's edge values; def is
// used for the empty string.
func ParseEdge(s string, def gpio.Edge) (gpio.Edge, error) {
	switch s {
	case "":
		return def, nil
	case "both":
		return gpio.BothEdges, nil
	case "rising":
		return gpio.RisingEdge, nil
	case "falling":
		return gpio.FallingEdge, nil
	case "none":
		return gpio.NoEdge, nil
	}
	return gpio.NoEdge, fmt.Errorf("edge %q: want both, rising, falling or none", s)
}

// ParseDuration parses a Go duration for the named field; the empty string
// gives def. Negative durations are refused. The other GPIO-based drivers
// (hw/counter) parse their options with these too.
func ParseDuration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", field, s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q: must not be negative", field, s)
	}
	return d, nil
}
