package loadtest

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a reported percentile is within 1/2^subBits (3.1 %) of the true
// value. Exact min, max and mean are kept beside the buckets.
const subBits = 5

const (
	subCount    = 1 << subBits
	bucketCount = (64 - subBits + 1) * subCount
)

// histogram records durations in a fixed set of log-linear buckets (the
// HdrHistogram idea in its smallest form): recording is one index
// computation and an increment, and histograms of many goroutines merge by
// adding counts. It is not safe for concurrent use; each goroutine owns one
// and they are merged after the goroutines ended.
type histogram struct {
	counts   [bucketCount]uint64
	n        uint64
	sum      float64 // ns
	min, max int64   // ns
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketMid is a representative value of bucket i: its middle.
func bucketMid(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(i%subCount+subCount) << shift
	return low + (uint64(1)<<shift)/2
}

// record adds one duration; negative ones (clock steps) count as 0.
func (h *histogram) record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the duration below which a fraction q (0..1) of the
// recorded values lie, clamped to the exact min and max.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := int64(bucketMid(i))
			return time.Duration(max(h.min, min(v, h.max)))
		}
	}
	return time.Duration(h.max)
}

// summary is what the report shows of a histogram.
func (h *histogram) summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.n,
		P50:   ms(h.quantile(0.50)),
		P90:   ms(h.quantile(0.90)),
		P99:   ms(h.quantile(0.99)),
		P999:  ms(h.quantile(0.999)),
		Max:   ms(time.Duration(h.max)),
		Mean:  ms(time.Duration(h.sum / float64(h.n))),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
