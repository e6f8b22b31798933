package frame_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// testSensor is one sensor of the realistic test frames.
type testSensor struct {
	info  frame.SensorInfo
	value func(r *rand.Rand, i int) frame.Value
}

// realisticSensors are ten sensors of a typical gateway: BME280 (t, rh, p),
// SoC temperature, supply voltage, a DS18B20 (0.0625 °C steps), light, soil
// moisture, a door contact and a pulse counter.
func realisticSensors() []testSensor {
	walk := func(base, spread, res float64) func(*rand.Rand, int) frame.Value {
		return func(r *rand.Rand, i int) frame.Value {
			return frame.Rounded(base+spread*(r.Float64()-0.5)+spread*float64(i)/20, res)
		}
	}
	return []testSensor{
		{frame.SensorInfo{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01}, walk(20.87, 0.3, 0.01)},
		{frame.SensorInfo{ID: "rh", Kind: "humidity", Unit: "%", PeriodMS: 1000, Resolution: 0.1}, walk(45.3, 2, 0.1)},
		{frame.SensorInfo{ID: "p", Kind: "pressure", Unit: "hPa", PeriodMS: 1000, Resolution: 0.01}, walk(1013.25, 0.5, 0.01)},
		{frame.SensorInfo{ID: "cpu", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.1}, walk(48.3, 3, 0.1)},
		{frame.SensorInfo{ID: "vin", Kind: "voltage", Unit: "V", PeriodMS: 1000, Resolution: 0.001}, walk(3.284, 0.02, 0.001)},
		{frame.SensorInfo{ID: "t2", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.0625}, walk(19.4375, 0.5, 0.0625)},
		{frame.SensorInfo{ID: "lux", Kind: "illuminance", Unit: "lx", PeriodMS: 1000, Resolution: 0.5}, walk(350.5, 40, 0.5)},
		{frame.SensorInfo{ID: "soil", Kind: "moisture", Unit: "", PeriodMS: 1000, Resolution: 0.001}, walk(0.352, 0.01, 0.001)},
		{frame.SensorInfo{ID: "door", Kind: "contact", PeriodMS: 1000}, func(r *rand.Rand, i int) frame.Value { return frame.Bool(i >= 6) }},
		{frame.SensorInfo{ID: "pulses", Kind: "counter", PeriodMS: 1000}, func(r *rand.Rand, i int) frame.Value { return frame.Int(48210 + int64(3*i)) }},
	}
}

// realisticFrame is n samples of each realistic sensor, taken every second,
// each sensor a few ms after the previous one, in time order.
func realisticFrame(n int) *frame.Frame {
	r := rand.New(rand.NewPCG(1, 2))
	sensors := realisticSensors()
	f := &frame.Frame{Seq: 1234, T0: 1733318400123456000}
	for i := 0; i < n; i++ {
		for k, s := range sensors {
			f.Samples = append(f.Samples, frame.Sample{
				Sensor: s.info.ID,
				DT:     uint64(i)*1_000_000 + uint64(k)*2_500,
				Value:  s.value(r, i),
			})
		}
	}
	return f
}

// sameValue reports whether a decoded value carries the sent one: the same
// kind and, for floats, the same value once rounded to the sent resolution.
func sameValue(sent, got frame.Value) bool {
	if sent.Kind() != got.Kind() {
		return false
	}
	if sent.Kind() != frame.KindFloat {
		return sent.Int64() == got.Int64()
	}
	g := got.WithResolution(sent.Resolution()).Float64()
	return g == sent.Float64() || (math.IsNaN(g) && math.IsNaN(sent.Float64()))
}

func sameSamples(t *testing.T, sent, got []frame.Sample) {
	t.Helper()
	if len(sent) != len(got) {
		t.Fatalf("got %d samples, want %d", len(got), len(sent))
	}
	for i := range sent {
		if sent[i].Sensor != got[i].Sensor || sent[i].DT != got[i].DT || !sameValue(sent[i].Value, got[i].Value) {
			t.Fatalf("sample %d: got %+v, want %+v", i, got[i], sent[i])
		}
	}
}

// stripRes returns the samples with every float resolution dropped (what a
// decoder without the HELLO returns, for exact comparisons).
func stripRes(s []frame.Sample) []frame.Sample {
	out := make([]frame.Sample, len(s))
	for i, x := range s {
		out[i] = x
		if x.Value.Kind() == frame.KindFloat {
			out[i].Value = frame.Float(x.Value.Float64())
		}
	}
	return out
}

func deepEqual(a, b any) bool { return reflect.DeepEqual(a, b) }

func nan() float64 { return math.NaN() }
