package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// device is a presence entry.
type device struct {
	state   backplane.DeviceState
	expires time.Time // zero: does not expire (offline, or ttl <= 0)
}

// SetDevice records d. An online d expires after ttl (ttl <= 0: never)
// unless set again; expiry turns it offline, keeping its other fields.
// A change of anything but LastSeen is delivered through HandlePresence.
func (b *Broker) SetDevice(ctx context.Context, d backplane.DeviceState, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: set device %s: %w", d.ID, err)
	}
	if d.ID == "" {
		return fmt.Errorf("backplane/memory: set device: empty id")
	}
	d = cloneDevice(d)
	now := b.now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return backplane.ErrClosed
	}
	old := b.devices[d.ID]
	e := &device{state: d}
	if d.Online && ttl > 0 {
		e.expires = now.Add(ttl)
	}
	b.devices[d.ID] = e
	changed := old == nil || !sameDevice(old.state, d)
	if changed {
		b.presence = append(b.presence, cloneDevice(d))
	}
	b.mu.Unlock()
	// Wake Run also without a change: the next expiry may have moved.
	b.wake()
	return nil
}

// Devices lists every known device, online or not, ordered by ID.
func (b *Broker) Devices(ctx context.Context) ([]backplane.DeviceState, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backplane/memory: devices: %w", err)
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backplane.ErrClosed
	}
	b.expireLocked(now)
	ds := make([]backplane.DeviceState, 0, len(b.devices))
	for _, e := range b.devices {
		ds = append(ds, cloneDevice(e.state))
	}
	sortDevices(ds)
	return ds, nil
}

// Device returns one device; ok is false when it is unknown.
func (b *Broker) Device(ctx context.Context, id string) (backplane.DeviceState, bool, error) {
	if err := ctx.Err(); err != nil {
		return backplane.DeviceState{}, false, fmt.Errorf("backplane/memory: device %s: %w", id, err)
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.DeviceState{}, false, backplane.ErrClosed
	}
	b.expireLocked(now)
	e := b.devices[id]
	if e == nil {
		return backplane.DeviceState{}, false, nil
	}
	return cloneDevice(e.state), true, nil
}

// expireLocked turns expired online entries offline, queues their change
// for delivery, and returns the next expiry (zero if none).
func (b *Broker) expireLocked(now time.Time) time.Time {
	var next time.Time
	expired := false
	for _, e := range b.devices {
		if e.expires.IsZero() {
			continue
		}
		if !now.Before(e.expires) {
			e.state.Online = false
			e.expires = time.Time{}
			b.presence = append(b.presence, cloneDevice(e.state))
			b.m.presenceExpired.Inc()
			expired = true
			continue
		}
		if next.IsZero() || e.expires.Before(next) {
			next = e.expires
		}
	}
	if expired {
		b.wake() // deliver the offline changes
	}
	return next
}

// sameDevice compares everything but LastSeen, which every refresh moves.
func sameDevice(a, b backplane.DeviceState) bool {
	return a.ID == b.ID && a.Online == b.Online && a.Hub == b.Hub && a.Region == b.Region &&
		a.AgentVersion == b.AgentVersion && maps.Equal(a.Labels, b.Labels) &&
		slices.Equal(a.Sensors, b.Sensors)
}

func cloneDevice(d backplane.DeviceState) backplane.DeviceState {
	d.Labels = maps.Clone(d.Labels)
	d.Sensors = slices.Clone(d.Sensors)
	return d
}
