package frame

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// The compact sample encoding shared by FRAME (keys 3 and 4) and the stored
// form (keys 5 and 7): PROTOCOL.md, "Samples and series".
//
//	samples: [[sensor id, dt, value], ...]
//	series:  [[sensor id, dt0, step, [v0, v1, ...]], ...]   sample i at dt0 + i*step
//
// Decoders merge both into one slice ordered by dt, then sensor id, samples
// with equal dt and sensor id keeping message order (samples before series).

// samplePlan splits a frame's samples into series (one per sensor whose
// samples are evenly spaced) and the rest.
type samplePlan struct {
	series []seriesPlan
	order  []int // indices into the samples, grouped per series
	rest   []int // indices of the samples sent one by one, in frame order
}

type seriesPlan struct {
	sensor    string
	dt0, step uint64
	lo, hi    int // range of plan.order
}

type sampleGroup struct {
	sensor     string
	count, pos int
	lastDT     uint64
	increasing bool
	series     bool
}

// planScratch is memory for planSamples that a caller keeps on its stack:
// a frame of up to 128 samples of up to 16 sensors needs no allocation.
type planScratch struct {
	gid    [128]int32
	groups [16]sampleGroup
	ints   [2*128 + 16]int
}

// planSamples plans s, in sc's memory when it fits; the plan refers to sc.
func planSamples(s []Sample, sc *planScratch) samplePlan {
	var p samplePlan
	if len(s) < 2 {
		p.rest = sc.ints[:0]
		if len(s) > len(sc.ints) {
			p.rest = make([]int, 0, len(s))
		}
		for i := range s {
			p.rest = append(p.rest, i)
		}
		return p
	}
	gid := sc.gid[:0]
	if len(s) > len(sc.gid) {
		gid = make([]int32, 0, len(s))
	}
	gid = gid[:len(s)]
	groups := sc.groups[:0]
	var index map[string]int
	for i := range s {
		g := -1
		if index != nil {
			if j, ok := index[s[i].Sensor]; ok {
				g = j
			}
		} else {
			for j := range groups {
				if groups[j].sensor == s[i].Sensor {
					g = j
					break
				}
			}
		}
		if g < 0 {
			g = len(groups)
			groups = append(groups, sampleGroup{sensor: s[i].Sensor, increasing: true, lastDT: s[i].DT})
			if index != nil {
				index[s[i].Sensor] = g
			} else if len(groups) > 16 {
				index = make(map[string]int, 2*len(groups))
				for j := range groups {
					index[groups[j].sensor] = j
				}
			}
		} else if s[i].DT <= groups[g].lastDT {
			groups[g].increasing = false
		}
		groups[g].lastDT = s[i].DT
		groups[g].count++
		gid[i] = int32(g)
	}
	pos := 0
	for j := range groups {
		groups[j].pos = pos
		pos += groups[j].count
	}
	// One piece of memory for order, rest and fill.
	var ints []int
	if n := 2*len(s) + len(groups); n <= len(sc.ints) {
		ints = sc.ints[:n]
		clear(ints)
	} else {
		ints = make([]int, n)
	}
	p.order = ints[:len(s):len(s)]
	p.rest = ints[len(s) : len(s) : 2*len(s)]
	fill := ints[2*len(s):]
	for i := range s {
		g := gid[i]
		p.order[groups[g].pos+fill[g]] = i
		fill[g]++
	}
	for j := range groups {
		g := &groups[j]
		if g.count < 2 {
			continue
		}
		idx := p.order[g.pos : g.pos+g.count]
		if !g.increasing {
			slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s[a].DT, s[b].DT) })
		}
		dt0 := s[idx[0]].DT
		step := s[idx[1]].DT - dt0
		if step == 0 {
			continue
		}
		even := true
		for k := 2; k < len(idx); k++ {
			if s[idx[k]].DT-s[idx[k-1]].DT != step || s[idx[k]].DT <= s[idx[k-1]].DT {
				even = false
				break
			}
		}
		if !even {
			continue
		}
		g.series = true
		p.series = append(p.series, seriesPlan{sensor: g.sensor, dt0: dt0, step: step, lo: g.pos, hi: g.pos + g.count})
	}
	for i := range s {
		if !groups[gid[i]].series {
			p.rest = append(p.rest, i)
		}
	}
	return p
}

// appendSamplesArray appends the samples array (FRAME key 3) of the samples
// in p.rest.
func appendSamplesArray(dst []byte, s []Sample, p *samplePlan) ([]byte, error) {
	dst = appendHead(dst, majArray, uint64(len(p.rest)))
	var err error
	for _, i := range p.rest {
		dst = append(dst, majArray|3)
		dst = appendText(dst, s[i].Sensor)
		dst = appendUint(dst, s[i].DT)
		if dst, err = appendValue(dst, s[i].Value); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendSeriesArray appends the series array (FRAME key 4).
func appendSeriesArray(dst []byte, s []Sample, p *samplePlan) ([]byte, error) {
	dst = appendHead(dst, majArray, uint64(len(p.series)))
	var err error
	for _, sp := range p.series {
		dst = append(dst, majArray|4)
		dst = appendText(dst, sp.sensor)
		dst = appendUint(dst, sp.dt0)
		dst = appendUint(dst, sp.step)
		dst = appendHead(dst, majArray, uint64(sp.hi-sp.lo))
		for _, i := range p.order[sp.lo:sp.hi] {
			if dst, err = appendValue(dst, s[i].Value); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// sampleDecoder accumulates the samples of one message.
type sampleDecoder struct {
	samples     []Sample          // key 3 (samples) in message order, then series read after it
	series      []Sample          // key 4 (series) read before key 3, expanded
	samplesRead bool              // key 3 has been read
	runs        [maxMergeRuns]int // lengths of the first series, in message order
	nruns       int               // series with values; more than maxMergeRuns: sort
	intern      internTable
}

// table is where sensor ids are interned: the reader's, kept across
// messages, or this message's own.
func (d *sampleDecoder) table(r *reader) *internTable {
	if r.ids != nil {
		return r.ids
	}
	return &d.intern
}

// countSeriesValues returns how many values the series array at r holds,
// or -1 if it is not shaped as series (the decoder then reports why).
func countSeriesValues(r *reader) int {
	n, err := r.readArray()
	if err != nil {
		return -1
	}
	total := 0
	for i := 0; i < n; i++ {
		m, err := r.readArray()
		if err != nil || m != 4 {
			return -1
		}
		for j := 0; j < 3; j++ {
			if r.skip() != nil {
				return -1
			}
		}
		nv, err := r.readArray()
		if err != nil {
			return -1
		}
		total += nv
		for k := 0; k < nv; k++ {
			if r.skip() != nil {
				return -1
			}
		}
		r.leave()
		r.leave()
	}
	return total
}

func (d *sampleDecoder) budget(r *reader, n int) error {
	if len(d.samples)+len(d.series)+n > r.lim.MaxArrayLen {
		return errf(ErrTooLarge, "more than %d samples", r.lim.MaxArrayLen)
	}
	return nil
}

func (d *sampleDecoder) readSamples(r *reader) error {
	n, err := r.readArray()
	if err != nil {
		return err
	}
	if err := d.budget(r, n); err != nil {
		return err
	}
	d.samples = slices.Grow(d.samples, n)
	for i := 0; i < n; i++ {
		if err := d.readSample(r); err != nil {
			return within(err, "sample %d", i)
		}
	}
	r.leave()
	d.samplesRead = true
	return nil
}

func (d *sampleDecoder) readSample(r *reader) error {
	n, err := r.readArray()
	if err != nil {
		return err
	}
	if n != 3 {
		return invalidf("want [sensor, dt, value], got %d elements", n)
	}
	id, err := r.readTextBytes()
	if err != nil {
		return within(err, "sensor")
	}
	dt, err := r.readUint()
	if err != nil {
		return within(err, "dt")
	}
	v, err := r.readValue()
	if err != nil {
		return within(err, "value")
	}
	r.leave()
	d.samples = append(d.samples, Sample{Sensor: d.table(r).get(id), DT: dt, Value: v})
	return nil
}

func (d *sampleDecoder) readSeries(r *reader) error {
	// Count the values first (heads only, no allocation), so that the
	// samples are allocated once, at their final size.
	save := *r
	total := countSeriesValues(r)
	*r = save
	if total > 0 && total <= r.lim.MaxArrayLen {
		if d.samplesRead {
			d.samples = slices.Grow(d.samples, total)
		} else {
			d.series = slices.Grow(d.series, total)
		}
	}
	n, err := r.readArray()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := d.readOneSeries(r); err != nil {
			return within(err, "series %d", i)
		}
	}
	r.leave()
	return nil
}

func (d *sampleDecoder) readOneSeries(r *reader) error {
	n, err := r.readArray()
	if err != nil {
		return err
	}
	if n != 4 {
		return invalidf("want [sensor, dt0, step, values], got %d elements", n)
	}
	idb, err := r.readTextBytes()
	if err != nil {
		return within(err, "sensor")
	}
	id := d.table(r).get(idb)
	dt0, err := r.readUint()
	if err != nil {
		return within(err, "dt0")
	}
	step, err := r.readUint()
	if err != nil {
		return within(err, "step")
	}
	nv, err := r.readArray()
	if err != nil {
		return within(err, "values")
	}
	if err := d.budget(r, nv); err != nil {
		return err
	}
	if nv > 1 && step > 0 && uint64(nv-1) > (math.MaxUint64-dt0)/step {
		return invalidf("dt0 + %d*step overflows", nv-1)
	}
	// Series after the samples (the order encoders write) go straight
	// into the samples; otherwise they wait in d.series.
	dst := &d.series
	if d.samplesRead {
		dst = &d.samples
	}
	dt := dt0
	for k := 0; k < nv; k++ {
		v, err := r.readValue()
		if err != nil {
			return within(err, "value %d", k)
		}
		*dst = append(*dst, Sample{Sensor: id, DT: dt, Value: v})
		dt += step
	}
	if nv > 0 {
		if d.nruns < maxMergeRuns {
			d.runs[d.nruns] = nv
		}
		d.nruns++
	}
	r.leave()
	r.leave()
	return nil
}

// result merges samples and series in the order PROTOCOL.md defines.
func (d *sampleDecoder) result() []Sample {
	// Series read after key 3 were appended to d.samples, series read
	// before it wait in d.series (key 4 comes once, so not both).
	if d.nruns == 0 || d.nruns > maxMergeRuns {
		s := append(d.samples, d.series...)
		if s == nil {
			return []Sample{}
		}
		sortSamples(s)
		return s
	}
	runs := d.runs[:d.nruns]
	n3 := len(d.samples)
	if len(d.series) == 0 {
		for _, n := range runs {
			n3 -= n
		}
	}
	s := append(d.samples, d.series...)
	// Key 3 first, then each series: every series is sorted already, so a
	// merge of the runs gives the stable sort at a fraction of its cost.
	sortSamples(s[:n3])
	return mergeRuns(s, n3, runs)
}

const maxMergeRuns = 32

// mergeRuns merges the sorted runs of s (first the n3 samples of key 3,
// then runs of the given lengths) into a new slice, taking the earliest run
// on ties, which is what a stable sort of s would return.
func mergeRuns(s []Sample, n3 int, runs []int) []Sample {
	var heads, ends [maxMergeRuns + 1]int
	k := 0
	if n3 > 0 {
		heads[0], ends[0] = 0, n3
		k = 1
	}
	off := n3
	for _, n := range runs {
		heads[k], ends[k] = off, off+n
		off += n
		k++
	}
	out := make([]Sample, len(s))
	for i := range out {
		best := -1
		var bestDT uint64
		var bestSensor string
		for r := 0; r < k; r++ {
			h := heads[r]
			if h == ends[r] {
				continue
			}
			if best < 0 || s[h].DT < bestDT || (s[h].DT == bestDT && s[h].Sensor < bestSensor) {
				best, bestDT, bestSensor = r, s[h].DT, s[h].Sensor
			}
		}
		out[i] = s[heads[best]]
		heads[best]++
	}
	return out
}

func compareSamples(a, b Sample) int {
	if a.DT != b.DT {
		return cmp.Compare(a.DT, b.DT)
	}
	return strings.Compare(a.Sensor, b.Sensor)
}

// sortSamples orders samples by dt, then sensor id, keeping the order of
// equal ones. It is the order every decoder of the compact form returns.
func sortSamples(s []Sample) {
	if !slices.IsSortedFunc(s, compareSamples) {
		slices.SortStableFunc(s, compareSamples)
	}
}

// SortSamples sorts s into the order in which the decoders of the agent link
// and of the stored form return samples: by dt, then by sensor id, samples
// with equal dt and sensor id keeping their relative order. A frame whose
// samples are in this order decodes to the same order it was encoded in.
func SortSamples(s []Sample) { sortSamples(s) }
