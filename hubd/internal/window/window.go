// Package window is the I/O-free logic of filtered dashboard subscriptions
// (PROTOCOL.md, "Dashboard link", sub with sensors and max_rate): selecting
// a frame's samples by sensor, merging the frames of a rate window into one,
// and the rate limiter that decides when a merged frame goes out.
//
// Merging follows the contract: the merged frame has the t0 of the oldest
// frame, the last sample of each sensor with dt counted from that t0, and
// the seq and off of the newest frame. With minmax it also carries, per
// numeric sensor, the samples <sensor>@min and <sensor>@max: the smallest
// and largest value of the window at the dt where each occurred.
package window

import (
	"cmp"
	"math"
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
	MinMax  bool     // merged frames also carry <sensor>@min and @max; only with MaxRate
}

// Suffixes of the sensor ids of the min and max samples of a minmax stream.
const (
	MinSuffix = "@min"
	MaxSuffix = "@max"
)

// WithMinMax returns f with MinMax set to on; without a rate limit there
// is no window to take a min or max over, and f is returned unchanged.
func (f Filter) WithMinMax(on bool) Filter {
	if f.MaxRate > 0 {
		f.MinMax = on
	}
	return f
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
	if f.MinMax {
		b.WriteByte('m') // a formatted rate never starts with m
	}
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
// otherwise a copy sharing nothing mutable with fr. With MinMax, samples of
// sensors whose id ends in MinSuffix or MaxSuffix are left out too, so that
// the min and max samples the merge adds cannot be confused with them.
func (f Filter) Select(fr *frame.DashFrame) *frame.DashFrame {
	if len(f.Sensors) == 0 && (!f.MinMax || !slices.ContainsFunc(fr.Samples, reserved)) {
		return fr
	}
	var out []frame.Sample
	for _, s := range fr.Samples {
		if f.MinMax && reserved(s) {
			continue
		}
		if _, ok := slices.BinarySearch(f.Sensors, s.Sensor); ok || len(f.Sensors) == 0 {
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

// reserved reports whether s's sensor id ends like a min or max sample's.
func reserved(s frame.Sample) bool {
	return strings.HasSuffix(s.Sensor, MinSuffix) || strings.HasSuffix(s.Sensor, MaxSuffix)
}

// Merge merges next, a newer frame, into acc and returns the result; acc
// may be nil (the result is then next merged into nothing: the last sample
// of each of its sensors). acc is modified; next is not. The result has
// the t0 of the oldest frame, the last sample of each sensor with dt from
// that t0, the seq and off of the newest frame and its samples in the
// sample order (by dt, then sensor id). With MinMax it also holds, for each
// sensor with int or float values, <sensor>@min and <sensor>@max: the
// smallest and largest value merged in, at the dt of its first occurrence.
// NaN values take no part in min and max; bools have neither.
func (f Filter) Merge(acc, next *frame.DashFrame) *frame.DashFrame {
	if acc == nil {
		n := *next
		n.Samples = make([]frame.Sample, 0, len(next.Samples))
		acc = &n
	}
	shift := (next.T0 - acc.T0) / 1000 // µs from acc.T0 to next.T0
	for _, s := range next.Samples {
		abs := shift + int64(s.DT)
		if abs < 0 {
			abs = 0 // a clock that stepped back: keep the sample at t0
		}
		s.DT = uint64(abs)
		if i := indexOf(acc.Samples, s.Sensor, ""); i < 0 {
			acc.Samples = append(acc.Samples, s)
		} else if s.DT >= acc.Samples[i].DT {
			acc.Samples[i] = s
		}
		if f.MinMax && s.Value.Kind() != frame.KindBool && !math.IsNaN(s.Value.Float64()) {
			acc.Samples = extreme(acc.Samples, s, MinSuffix, -1)
			acc.Samples = extreme(acc.Samples, s, MaxSuffix, +1)
		}
	}
	acc.Seq = next.Seq
	acc.Off = next.Off
	frame.SortSamples(acc.Samples)
	return acc
}

// extreme updates the sample s.Sensor+suffix of samples with s when s's
// value compares to it as sign says (-1: smaller, +1: larger) or when it
// is missing.
func extreme(samples []frame.Sample, s frame.Sample, suffix string, sign int) []frame.Sample {
	i := indexOf(samples, s.Sensor, suffix)
	if i < 0 {
		s.Sensor += suffix
		return append(samples, s)
	}
	if compareValues(s.Value, samples[i].Value) == sign {
		samples[i].DT = s.DT
		samples[i].Value = s.Value
	}
	return samples
}

// indexOf returns the index of the sample with sensor id sensor+suffix,
// -1 when there is none; it does not build the id.
func indexOf(samples []frame.Sample, sensor, suffix string) int {
	return slices.IndexFunc(samples, func(a frame.Sample) bool {
		return len(a.Sensor) == len(sensor)+len(suffix) &&
			strings.HasPrefix(a.Sensor, sensor) && strings.HasSuffix(a.Sensor, suffix)
	})
}

// compareValues compares two numeric values: as integers when both are,
// so that large ones keep every bit, otherwise as floats.
func compareValues(a, b frame.Value) int {
	if a.Kind() == frame.KindInt && b.Kind() == frame.KindInt {
		return cmp.Compare(a.Int64(), b.Int64())
	}
	return cmp.Compare(a.Float64(), b.Float64())
}

// Limiter spaces out a stream's frames by at least an interval, merging
// what arrives in between. It is not safe for concurrent use; times come
// from the caller, so that it is a pure function of its inputs.
type Limiter struct {
	filter   Filter
	interval time.Duration
	next     time.Time        // earliest time of the next emission
	pending  *frame.DashFrame // merged frames waiting for next
}

// NewLimiter returns a Limiter for f; f must have a rate limit.
func NewLimiter(f Filter) *Limiter { return &Limiter{filter: f, interval: f.Interval()} }

// Push offers fr at time now. It returns fr when it may go out at once
// (with MinMax: fr merged on its own, so that every frame of the stream
// carries min and max);
// otherwise it merges fr into the pending frame, returns nil, and flushAt
// says when Flush must be called (the same time until Flush is called).
func (l *Limiter) Push(now time.Time, fr *frame.DashFrame) (out *frame.DashFrame, flushAt time.Time) {
	if l.pending == nil && !now.Before(l.next) {
		l.next = now.Add(l.interval)
		if l.filter.MinMax {
			fr = l.filter.Merge(nil, fr)
		}
		return fr, time.Time{}
	}
	l.pending = l.filter.Merge(l.pending, fr)
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
			acc = f.Merge(acc, fr)
			continue
		}
		if acc != nil {
			out = append(out, acc)
		}
		acc = f.Merge(nil, fr)
	}
	return append(out, acc)
}
