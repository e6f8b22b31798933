// Package hw is edgeplane's hardware layer: sensors and actuators. Drivers
// live in sub-packages (sim, soc, and the periph-based ones); this package
// holds the interfaces everything else codes against.
//
// Values cross this boundary as readings of typed quantities; the agent turns
// them into frame values with each sensor's resolution.
package hw

import (
	"context"
	"time"
)

// Desc describes one channel of a sensor as the agent announces it in HELLO.
type Desc struct {
	ID         string        // unique within the device, e.g. "t" or "bme280.temperature"
	Kind       string        // temperature, humidity, pressure, voltage, level, rate, ...
	Unit       string        // °C, %, Pa, V, "", Hz ...
	Period     time.Duration // sampling period
	Resolution float64       // smallest step worth keeping, e.g. 0.01; 0 = exact
}

// Reading is one value of one channel.
type Reading struct {
	ID    string    // Desc.ID it belongs to
	Time  time.Time // when it was measured
	Value any       // float64, int64 or bool
}

// Sensor is a source of readings. A driver with several channels (a BME280:
// temperature, humidity, pressure) describes them all and returns one Reading
// per channel from Read.
type Sensor interface {
	// Describe lists the channels this sensor produces; it does not change.
	Describe() []Desc
	// Read measures every channel once. It honours ctx.
	Read(ctx context.Context) ([]Reading, error)
	// Close releases the hardware; idempotent.
	Close() error
}

// EventSensor is an optional capability of a Sensor that also produces
// readings as things happen (a GPIO edge). Events blocks and sends readings
// to out until ctx ends.
type EventSensor interface {
	Sensor
	Events(ctx context.Context, out chan<- Reading) error
}

// Actuator is something a command can set (a relay on a GPIO).
type Actuator interface {
	// Name is the actuator's configured name, used in command args ("pin").
	Name() string
	// Set applies a value (bool for a GPIO level).
	Set(ctx context.Context, v any) error
	// Get returns the current value.
	Get(ctx context.Context) (any, error)
	// Close returns the actuator to its safe default and releases it.
	Close() error
}
