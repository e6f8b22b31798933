package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// wireDevice is a DeviceState as stored and published (after the online
// flag byte), JSON.
type wireDevice struct {
	ID           string             `json:"id"`
	Hub          string             `json:"hub,omitempty"`
	Region       string             `json:"region,omitempty"`
	Labels       map[string]string  `json:"labels,omitempty"`
	Sensors      []frame.SensorInfo `json:"sensors,omitempty"`
	AgentVersion string             `json:"agent_version,omitempty"`
	LastSeen     int64              `json:"last_seen,omitempty"` // unix ns
}

// encodeDevice returns the stored value ("1" or "0", then JSON) and the
// comparison key (the same without LastSeen, which every refresh moves).
func encodeDevice(d backplane.DeviceState) (value, cmp string, err error) {
	w := wireDevice{ID: d.ID, Hub: d.Hub, Region: d.Region, Labels: d.Labels, Sensors: d.Sensors, AgentVersion: d.AgentVersion}
	flag := "0"
	if d.Online {
		flag = "1"
	}
	c, err := json.Marshal(w)
	if err != nil {
		return "", "", err
	}
	if !d.LastSeen.IsZero() {
		w.LastSeen = d.LastSeen.UnixNano()
	}
	v, err := json.Marshal(w)
	if err != nil {
		return "", "", err
	}
	return flag + string(v), flag + string(c), nil
}

func decodeDevice(v string) (backplane.DeviceState, error) {
	if len(v) < 2 || (v[0] != '0' && v[0] != '1') {
		return backplane.DeviceState{}, errors.New("bad presence value")
	}
	var w wireDevice
	if err := json.Unmarshal([]byte(v[1:]), &w); err != nil {
		return backplane.DeviceState{}, fmt.Errorf("bad presence value: %w", err)
	}
	d := backplane.DeviceState{
		ID: w.ID, Online: v[0] == '1', Hub: w.Hub, Region: w.Region, Labels: w.Labels,
		Sensors: w.Sensors, AgentVersion: w.AgentVersion,
	}
	if w.LastSeen != 0 {
		d.LastSeen = time.Unix(0, w.LastSeen)
	}
	return d, nil
}

func (b *Broker) presenceKeys() []string {
	p := b.o.Prefix + ":presence:{" + b.o.Region + "}:"
	return []string{p + "d", p + "c", p + "x"}
}

func (b *Broker) presenceChannel() string { return b.o.Prefix + ":presence:{" + b.o.Region + "}" }

// presenceShard holds the region's presence keys.
func (b *Broker) presenceShard() *shard { return b.shards[0] }

// SetDevice records d; an online entry expires after ttl (ttl <= 0: never)
// in the Redis clock unless set again, and any Broker's sweep then turns it
// offline. A change of anything but LastSeen is published to every hub.
func (b *Broker) SetDevice(ctx context.Context, d backplane.DeviceState, ttl time.Duration) error {
	if d.ID == "" {
		return errors.New("backplane/redis: set device: empty id")
	}
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	v, cmp, err := encodeDevice(d)
	if err != nil {
		return fmt.Errorf("backplane/redis: set device %s: %w", d.ID, err)
	}
	ms := int64(0)
	if d.Online && ttl > 0 {
		ms = max(ttl.Milliseconds(), 1)
	}
	err = b.presenceSet.Run(ctx, b.presenceShard().client, b.presenceKeys(),
		d.ID, v, cmp, strconv.FormatInt(ms, 10), b.presenceChannel(), b.publishCmd()).Err()
	return wrap("set device "+d.ID, err)
}

// Devices lists every known device, online or not, ordered by ID.
func (b *Broker) Devices(ctx context.Context) ([]backplane.DeviceState, error) {
	if !b.enter() {
		return nil, backplane.ErrClosed
	}
	defer b.inflight.Done()
	all, err := b.presenceShard().client.HGetAll(ctx, b.presenceKeys()[0]).Result()
	if err != nil {
		return nil, wrap("devices", err)
	}
	ds := make([]backplane.DeviceState, 0, len(all))
	for id, v := range all {
		d, err := decodeDevice(v)
		if err != nil {
			return nil, fmt.Errorf("backplane/redis: devices: %s: %w", id, err)
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	return ds, nil
}

// Device returns one device; ok is false when it is unknown.
func (b *Broker) Device(ctx context.Context, id string) (backplane.DeviceState, bool, error) {
	if !b.enter() {
		return backplane.DeviceState{}, false, backplane.ErrClosed
	}
	defer b.inflight.Done()
	v, err := b.presenceShard().client.HGet(ctx, b.presenceKeys()[0], id).Result()
	if errors.Is(err, goredis.Nil) {
		return backplane.DeviceState{}, false, nil
	}
	if err != nil {
		return backplane.DeviceState{}, false, wrap("device "+id, err)
	}
	d, err := decodeDevice(v)
	if err != nil {
		return backplane.DeviceState{}, false, fmt.Errorf("backplane/redis: device %s: %w", id, err)
	}
	return d, true, nil
}

func (b *Broker) deliverPresence(payload string, h backplane.Handler) {
	d, err := decodeDevice(payload)
	if err != nil {
		b.log.Error("malformed presence notification", "error", err)
		return
	}
	h.HandlePresence(d)
}

// runPresenceSweep expires presence entries every PresenceSweep until ctx
// ends. Errors (Redis down) are logged once per outage and retried.
func (b *Broker) runPresenceSweep(ctx context.Context) error {
	t := time.NewTicker(b.o.PresenceSweep)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := b.presenceExpire.Run(ctx, b.presenceShard().client, b.presenceKeys(),
			1000, b.presenceChannel(), b.publishCmd()).Int64()
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				b.log.Warn("presence sweep failed", "error", err)
			}
			failing = true
		case err == nil:
			failing = false
			b.m.presenceExpired.Add(float64(n))
		}
	}
}
