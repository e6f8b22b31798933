// Package window is the I/O-free logic of filtered dashboard subscriptions
// (PROTOCOL.md, "Dashboard link", sub with sensors and max_rate): selecting
// a frame's samples by sensor, merging the frames of a rate window into one,
// and the rate limiter that decides when a merged frame goes out.
//
// Merging follows the contract: the merged frame has the t0 of the oldest
// frame, the last sample of each sensor with dt counted from that t0, and
// the seq and off of the newest frame.
package window

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// Filter is what a filtered subscription asks for. The zero Filter passes
// every frame unchanged.
type Filter struct {
	Sensors []string // sorted, no duplicates; empty = every sensor
	MaxRate float64  // frames per second; 0 = unlimited
}

// NewFilter normalizes sensors (sorted, deduplicated) and maxRate (<= 0 is 0).
func NewFilter(sensors []string, maxRate float64) Filter {
	var f Filter
	if len(sensors) > 0 {
		f.Sensors = slices.Clone(sensors)
		slices.Sort(f.Sensors)
		f.Sensors = slices.Compact(f.Sensors)
	}
	if maxRate > 0 {
		f.MaxRate = maxRate
	}
	return f
}

// IsZero reports whether f passes every frame unchanged.
func (f Filter) IsZero() bool { return len(f.Sensors) == 0 && f.MaxRate == 0 }

// Key identifies f: subscriptions with equal keys share one stream.
func (f Filter) Key() string {
	if f.IsZero() {
		return ""
	}
	var b strings.Builder
	b.WriteString(strconv.FormatFloat(f.MaxRate, 'g', -1, 64))
	for _, s := range f.Sensors {
		b.WriteByte('\x00')
		b.WriteString(s)
	}
	return b.String()
}

// Interval is the shortest time between two frames of a rate-limited
// stream; 0 when f has no rate limit.
func (f Filter) Interval() time.Duration {
	if f.MaxRate <= 0 {
		return 0
	}
	d := time.Duration(float64(time.Second) / f.MaxRate)
	if d <= 0 {
		d = 1
	}
	return d
}

// Select returns fr with only the samples of f's sensors: fr itself when f
// selects every sensor, nil when no sample is left (the frame is skipped),
// otherwise a copy sharing nothing mutable with fr.
func (f Filter) Select(fr *frame.DashFrame) *frame.DashFrame {
	if len(f.Sensors) == 0 {
		return fr
	}
	var out []frame.Sample
	for _, s := range fr.Samples {
		if _, ok := slices.BinarySearch(f.Sensors, s.Sensor); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	n := *fr
	n.Samples = out
	return &n
}

// Merge merges next, a newer frame, into acc and returns the result; acc
// may be nil (the result is then a copy of next). acc is modified; next is
// not.
func Merge(acc, next *frame.DashFrame) *frame.DashFrame {
	if acc == nil {
		n := *next
		n.Samples = slices.Clone(next.Samples)
		return &n
	}
	for _, s := range next.Samples {
		// Absolute time of the sample in µs since acc.T0.
		abs := (next.T0-acc.T0)/1000 + int64(s.DT)
		if abs < 0 {
			abs = 0 // a clock that stepped back: keep the sample at t0
		}
		s.DT = uint64(abs)
		i := slices.IndexFunc(acc.Samples, func(a frame.Sample) bool { return a.Sensor == s.Sensor })
		switch {
		case i < 0:
			acc.Samples = append(acc.Samples, s)
		case s.DT >= acc.Samples[i].DT:
			acc.Samples[i] = s
		}
	}
	acc.Seq = next.Seq
	acc.Off = next.Off
	return acc
}

// Limiter spaces out a stream's frames by at least an interval, merging
// what arrives in between. It is not safe for concurrent use; times come
// from the caller, so that it is a pure function of its inputs.
type Limiter struct {
	interval time.Duration
	next     time.Time        // earliest time of the next emission
	pending  *frame.DashFrame // merged frames waiting for next
}

// NewLimiter returns a Limiter for f; f must have a rate limit.
func NewLimiter(f Filter) *Limiter { return &Limiter{interval: f.Interval()} }

// Push offers fr at time now. It returns fr when it may go out at once;
// otherwise it merges fr into the pending frame, returns nil, and flushAt
// says when Flush must be called (the same time until Flush is called).
func (l *Limiter) Push(now time.Time, fr *frame.DashFrame) (out *frame.DashFrame, flushAt time.Time) {
	if l.pending == nil && !now.Before(l.next) {
		l.next = now.Add(l.interval)
		return fr, time.Time{}
	}
	l.pending = Merge(l.pending, fr)
	return nil, l.next
}

// Flush returns the pending merged frame (nil when there is none) and
// starts the next interval at now.
func (l *Limiter) Flush(now time.Time) *frame.DashFrame {
	out := l.pending
	l.pending = nil
	if out != nil {
		l.next = now.Add(l.interval)
	}
	return out
}

// Reset drops the pending frame (the channel's history was lost).
func (l *Limiter) Reset() { l.pending = nil }

// Downsample merges replayed frames (ascending) so that no two frames of
// the result start within one interval of f of each other, judged by the
// frames' own t0: history is downsampled by the time the samples were
// taken, not by when they are sent. Without a rate limit it returns frames.
func Downsample(f Filter, frames []*frame.DashFrame) []*frame.DashFrame {
	iv := f.Interval().Nanoseconds()
	if iv == 0 || len(frames) == 0 {
		return frames
	}
	var out []*frame.DashFrame
	var acc *frame.DashFrame
	for _, fr := range frames {
		if acc != nil && fr.T0-acc.T0 < iv {
			acc = Merge(acc, fr)
			continue
		}
		if acc != nil {
			out = append(out, acc)
		}
		acc = Merge(nil, fr)
	}
	return append(out, acc)
}
