package agent

import (
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
