package agent

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// sensorRun is one open sensor and its sampling state.
type sensorRun struct {
	spec   *sensorSpec
	sensor hw.Sensor
	descs  []hw.Desc
	events bool // an hw.EventSensor: Events runs beside the periodic reads

	period   atomic.Int64  // ns between reads; 0 = events only
	wake     chan struct{} // capacity one: period changed
	lastTick atomic.Int64  // unix ns of the last read, for Healthy
}

func newSensorRun(spec *sensorSpec, sn hw.Sensor) *sensorRun {
	r := &sensorRun{spec: spec, sensor: sn, descs: sn.Describe(), wake: make(chan struct{}, 1)}
	_, r.events = sn.(hw.EventSensor)
	var p time.Duration
	for _, d := range r.descs {
		p = max(p, d.Period)
	}
	r.period.Store(int64(p))
	r.lastTick.Store(time.Now().UnixNano())
	return r
}

// setPeriod changes the sampling period from the next tick on
// (sensor.interval command).
func (r *sensorRun) setPeriod(p time.Duration) {
	r.period.Store(int64(p))
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// nextTick returns the first multiple of p (counted from the Unix epoch)
// after now, carrying now's monotonic reading so that waits are immune to
// wall-clock steps. Aligned ticks put the samples of every sensor with the
// same period on the same instants, and every frame's samples of one sensor
// evenly spaced, which the frame codec packs into a compact series.
func nextTick(now time.Time, p time.Duration) time.Time {
	n := now.UnixNano()
	next := (n/int64(p) + 1) * int64(p)
	return now.Add(time.Duration(next - n))
}

// sample reads r every period until ctx ends. Each reading is stamped
// with the tick it was scheduled for, not with the time the read finished,
// so samples stay evenly spaced however long the read takes. A read slower
// than the period skips the ticks it overran (counted).
func (a *Agent) sample(ctx context.Context, r *sensorRun, out chan<- hw.Reading) error {
	log := a.log.Named("sampler").With("sensor", r.spec.name)
	failing := false
	var next time.Time
	for {
		p := time.Duration(r.period.Load())
		if p == 0 {
			// Events only, until a sensor.interval command sets a period.
			select {
			case <-ctx.Done():
				return nil
			case <-r.wake:
				next = time.Time{}
				continue
			}
		}
		if next.IsZero() {
			next = nextTick(time.Now(), p)
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-r.wake:
			timer.Stop()
			next = time.Time{}
			continue
		case <-timer.C:
		}
		rs, err := r.sensor.Read(ctx)
		r.lastTick.Store(time.Now().UnixNano())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			a.m.readErrors.WithLabelValues(r.spec.driver).Inc()
			if !failing {
				log.Warn("sensor read failed; retrying every period", "error", err)
				failing = true
			}
		default:
			if failing {
				log.Info("sensor read works again")
				failing = false
			}
			for _, rd := range rs {
				rd.Time = next
				select {
				case out <- rd:
				case <-ctx.Done():
					return nil
				}
			}
		}
		next = next.Add(p)
		if now := time.Now(); !next.After(now) {
			skipped := now.Sub(next)/p + 1
			a.m.missedTicks.Add(float64(skipped))
			next = next.Add(skipped * p)
		}
	}
}

// events forwards an event sensor's readings as they happen, stamped by
// the driver with the time of the event.
func (a *Agent) events(ctx context.Context, r *sensorRun, es hw.EventSensor, out chan<- hw.Reading) error {
	err := es.Events(ctx, out)
	if ctx.Err() == nil && err != nil && !errors.Is(err, context.Canceled) {
		// The periodic reads go on; the sensor only loses its events.
		a.log.Named("sampler").Warn("sensor events stopped", "sensor", r.spec.name, "error", err)
		a.m.readErrors.WithLabelValues(r.spec.driver).Inc()
	}
	return nil
}
