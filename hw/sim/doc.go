// Package sim provides simulated sensors and actuators: a sine wave, a
// bounded random walk, a GPIO-like toggle and a relay that remembers its
// level. They let the agent, the hub and the dashboard run end to end on any
// machine, and they make tests deterministic: every value is a function of
// the reading time (sine, toggle) or of a seed (walk).
//
// Start with NewSine, NewWalk, NewToggle and NewRelay; each takes an options
// struct whose zero value is usable.
package sim
