package loadtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var vals []time.Duration
	for range 100000 {
		// Log-uniform from 1 µs to 1 s, as latencies spread.
		d := time.Duration(1e3 * math.Exp2(r.Float64()*20))
		vals = append(vals, d)
		h.record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.quantile(q)
		if rel := float64(got-want) / float64(want); rel > 1.0/subCount || rel < -1.0/subCount {
			t.Errorf("q%.3f = %v, want %v within %.1f %%", q, got, want, 100.0/subCount)
		}
	}
	if got := h.quantile(1); got != vals[len(vals)-1] {
		t.Errorf("q1 = %v, want the exact max %v", got, vals[len(vals)-1])
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.record(d)
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	var m histogram
	m.merge(&a)
	m.merge(&b)
	m.merge(&histogram{})
	if m.summary() != all.summary() {
		t.Errorf("merged %+v, want %+v", m.summary(), all.summary())
	}
}

func TestBucketBounds(t *testing.T) {
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 1000, 1 << 40, 1<<63 - 1, 1<<64 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= bucketCount {
			t.Fatalf("bucketOf(%d) = %d, out of [0,%d)", v, i, bucketCount)
		}
		if mid := bucketMid(i); v >= subCount && (float64(mid) < float64(v)*(1-1.0/subCount) || float64(mid) > float64(v)*(1+1.0/subCount)) {
			t.Errorf("bucketMid(bucketOf(%d)) = %d, more than %.1f %% off", v, mid, 100.0/subCount)
		}
	}
}
