package agent

import (
	"time"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/hw"
)

// Queue returns the queue Run opened (nil before).
func (a *Agent) Queue() queue.Queue {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.q
}

// Actuator returns the named actuator Run opened.
func (a *Agent) Actuator(name string) hw.Actuator {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.actuators[name]
}

// SetLastRead pretends the sensor was last read at t, as if its reads had
// hung since then.
func (a *Agent) SetLastRead(sensor string, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sensors {
		if r.spec.name == sensor {
			r.lastTick.Store(t.UnixNano())
		}
	}
}
