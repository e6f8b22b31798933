package backplanetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// EventKind says which Handler method an Event came from.
type EventKind int

// Event kinds.
const (
	EventPublication EventKind = iota + 1
	EventReset
	EventPresence
)

// Event is one Handler call.
type Event struct {
	Kind        EventKind
	Channel     string                // publication, reset
	Epoch       string                // publication
	Publication backplane.Publication // publication
	Position    backplane.Position    // reset
	Device      backplane.DeviceState // presence
}

func (e Event) String() string {
	switch e.Kind {
	case EventPublication:
		return fmt.Sprintf("pub %s %s/%d %q", e.Channel, e.Epoch, e.Publication.Offset, e.Publication.Data)
	case EventReset:
		return fmt.Sprintf("reset %s %s/%d", e.Channel, e.Position.Epoch, e.Position.Offset)
	default:
		return fmt.Sprintf("presence %s online=%v hub=%s", e.Device.ID, e.Device.Online, e.Device.Hub)
	}
}

// Recorder is a backplane.Handler that records every call. It reports a
// test error when calls for one channel overlap, which the Handler contract
// forbids. Its methods are safe for concurrent use.
type Recorder struct {
	t testing.TB

	mu       sync.Mutex // guards the following fields
	events   []Event
	inflight map[string]bool
	changed  chan struct{} // closed and replaced on every new event
}

// NewRecorder returns an empty Recorder reporting contract violations to t.
func NewRecorder(t testing.TB) *Recorder {
	return &Recorder{t: t, inflight: make(map[string]bool), changed: make(chan struct{})}
}

func (r *Recorder) enter(ch string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[ch] {
		r.t.Errorf("backplanetest: overlapping handler calls for channel %s", ch)
	}
	r.inflight[ch] = true
}

func (r *Recorder) add(ch string, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch != "" {
		delete(r.inflight, ch)
	}
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
}

// HandlePublication implements backplane.Handler.
func (r *Recorder) HandlePublication(ch, epoch string, p backplane.Publication) {
	r.enter(ch)
	p.Data = append([]byte(nil), p.Data...)
	r.add(ch, Event{Kind: EventPublication, Channel: ch, Epoch: epoch, Publication: p})
}

// HandleReset implements backplane.Handler.
func (r *Recorder) HandleReset(ch string, pos backplane.Position) {
	r.enter(ch)
	r.add(ch, Event{Kind: EventReset, Channel: ch, Position: pos})
}

// HandlePresence implements backplane.Handler.
func (r *Recorder) HandlePresence(d backplane.DeviceState) {
	r.add("", Event{Kind: EventPresence, Device: d})
}

// Events returns a copy of everything recorded so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Channel returns the publication and reset events of ch, in order.
func (r *Recorder) Channel(ch string) []Event {
	var out []Event
	for _, e := range r.Events() {
		if e.Channel == ch {
			out = append(out, e)
		}
	}
	return out
}

// Presence returns the presence events of device id, in order.
func (r *Recorder) Presence(id string) []Event {
	var out []Event
	for _, e := range r.Events() {
		if e.Kind == EventPresence && e.Device.ID == id {
			out = append(out, e)
		}
	}
	return out
}

// Wait waits until cond holds for the recorded events, and fails the test
// after timeout. It returns the events cond accepted.
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, what string, cond func([]Event) bool) []Event {
	t.Helper()
	evs, ok := r.WaitFor(timeout, cond)
	if !ok {
		t.Fatalf("backplanetest: timed out after %v waiting for %s; recorded:\n%s", timeout, what, dump(evs))
	}
	return evs
}

// WaitFor waits until cond holds for the recorded events or timeout
// passes, and returns the events last given to cond and whether it held.
func (r *Recorder) WaitFor(timeout time.Duration, cond func([]Event) bool) ([]Event, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		evs := append([]Event(nil), r.events...)
		changed := r.changed
		r.mu.Unlock()
		if cond(evs) {
			return evs, true
		}
		select {
		case <-changed:
		case <-timer.C:
			return evs, false
		}
	}
}

// WaitChannel waits until ch has at least n publication or reset events
// and returns them.
func (r *Recorder) WaitChannel(t testing.TB, timeout time.Duration, ch string, n int) []Event {
	t.Helper()
	var got []Event
	r.Wait(t, timeout, fmt.Sprintf("%d events on %s", n, ch), func(evs []Event) bool {
		got = got[:0]
		for _, e := range evs {
			if e.Channel == ch {
				got = append(got, e)
			}
		}
		return len(got) >= n
	})
	return got
}

func dump(evs []Event) string {
	const max = 50
	var s string
	for i, e := range evs {
		if i == max {
			s += fmt.Sprintf("  ... %d more\n", len(evs)-max)
			break
		}
		s += "  " + e.String() + "\n"
	}
	return s
}
