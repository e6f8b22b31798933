package frame

import (
	"fmt"
	"math"
	"slices"
)

// Stored form: the payload of a dev/ channel in the backplane
// (PROTOCOL.md, "Stored form", informative). A CBOR map with integer keys:
//
//	1 device id (text, R)   2 spool id (text, R)   3 seq (uint, R)
//	4 t0 (int, R, unix ns)  5 samples (R)          6 resolutions (map sensor id -> float)
//	7 series
//
// Keys 5 and 7 are the compact sample encoding of FRAME keys 3 and 4. Key 6
// carries each sensor's resolution, so that whoever reads the payload
// prints the rounded decimal without the device's HELLO.

var storedKeyNames = []string{1: "device", 2: "spool id", 3: "seq", 4: "t0", 5: "samples", 6: "resolutions", 7: "series"}

const storedRequired = 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5

func appendStored(dst []byte, s *Stored) ([]byte, error) {
	if s == nil {
		return dst, fmt.Errorf("frame: encode stored: nil")
	}
	if !ValidDeviceID(s.Device) {
		return dst, fmt.Errorf("frame: encode stored: device id %q does not match [A-Za-z0-9._-]{1,64}", s.Device)
	}
	var resBuf [16]sensorRes
	resVal := sensorResolutions(resBuf[:0], s.Samples)
	var sc planScratch
	p := planSamples(s.Samples, &sc)
	n := uint64(5)
	if len(resVal) > 0 {
		n++
	}
	if len(p.series) > 0 {
		n++
	}
	start := len(dst)
	dst = appendHead(dst, majMap, n)
	dst = appendText(appendUint(dst, 1), s.Device)
	dst = appendText(appendUint(dst, 2), s.SpoolID)
	dst = appendUint(appendUint(dst, 3), s.Seq)
	dst = appendInt(appendUint(dst, 4), s.T0)
	var err error
	if dst, err = appendSamplesArray(appendUint(dst, 5), s.Samples, &p); err != nil {
		return dst[:start], fmt.Errorf("frame: encode stored: %w", err)
	}
	if len(resVal) > 0 {
		dst = appendHead(appendUint(dst, 6), majMap, uint64(len(resVal)))
		for _, r := range resVal {
			dst = appendFloat(appendText(dst, r.sensor), r.res, 0)
		}
	}
	if len(p.series) > 0 {
		if dst, err = appendSeriesArray(appendUint(dst, 7), s.Samples, &p); err != nil {
			return dst[:start], fmt.Errorf("frame: encode stored: %w", err)
		}
	}
	return dst, nil
}

type sensorRes struct {
	sensor string
	res    float64
}

// sensorResolutions appends to out the resolution of each sensor that has
// a float sample with one (the first such sample wins), in CBOR key order.
// A frame has a few sensors: they are found by a linear search, with a map
// only past 16 of them.
func sensorResolutions(out []sensorRes, s []Sample) []sensorRes {
	var index map[string]struct{}
	for i := range s {
		v := s[i].Value
		if v.kind != KindFloat || v.res == 0 {
			continue
		}
		name := s[i].Sensor
		if index != nil {
			if _, ok := index[name]; ok {
				continue
			}
			index[name] = struct{}{}
		} else if slices.ContainsFunc(out, func(r sensorRes) bool { return r.sensor == name }) {
			continue
		}
		out = append(out, sensorRes{name, v.res})
		if index == nil && len(out) > 16 {
			index = make(map[string]struct{}, 2*len(out))
			for _, r := range out {
				index[r.sensor] = struct{}{}
			}
		}
	}
	slices.SortFunc(out, func(a, b sensorRes) int { return cborKeyLess(a.sensor, b.sensor) })
	return out
}

func decodeStored(b []byte) (*Stored, error) {
	l := DefaultAgentLimits()
	if len(b) > l.MaxMessageBytes {
		return nil, errf(ErrTooLarge, "stored frame of %d bytes: limit %d", len(b), l.MaxMessageBytes)
	}
	if len(b) == 0 {
		return nil, errf(ErrUndecodable, "empty stored frame")
	}
	r := reader{b: b, lim: l}
	s, err := r.stored()
	if err != nil {
		return nil, within(err, "stored")
	}
	if !r.atEnd() {
		return nil, errf(ErrUndecodable, "stored: data after the map")
	}
	return s, nil
}

func (r *reader) stored() (*Stored, error) {
	n, err := r.readMap()
	if err != nil {
		return nil, err
	}
	s := &Stored{}
	var seen keySet
	var sd sampleDecoder
	var res map[string]float64
	for i := 0; i < n; i++ {
		k, err := r.readKey(&seen)
		if err != nil {
			return nil, err
		}
		switch k {
		case 1:
			if s.Device, err = r.readText(); err == nil && !ValidDeviceID(s.Device) {
				err = invalidf("device id %q does not match [A-Za-z0-9._-]{1,64}", s.Device)
			}
		case 2:
			s.SpoolID, err = r.readText()
		case 3:
			s.Seq, err = r.readUint()
		case 4:
			s.T0, err = r.readInt()
		case 5:
			err = sd.readSamples(r)
		case 6:
			res, err = r.readResolutions()
		case 7:
			err = sd.readSeries(r)
		default:
			err = r.skip()
		}
		if err != nil {
			return nil, within(err, "%s", keyName(storedKeyNames, k))
		}
	}
	r.leave()
	if err := missing(&seen, storedRequired, storedKeyNames); err != nil {
		return nil, err
	}
	s.Samples = sd.result()
	if len(res) > 0 {
		for i := range s.Samples {
			v := &s.Samples[i].Value
			if rs, ok := res[s.Samples[i].Sensor]; ok && v.kind == KindFloat {
				*v = v.WithResolution(rs)
			}
		}
	}
	return s, nil
}

func (r *reader) readResolutions() (map[string]float64, error) {
	n, err := r.readMap()
	if err != nil {
		return nil, err
	}
	m := make(map[string]float64, n)
	for i := 0; i < n; i++ {
		k, err := r.readText()
		if err != nil {
			return nil, within(err, "map key")
		}
		v, err := r.readNumber()
		if err != nil {
			return nil, within(err, "resolution of %q", k)
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, invalidf("resolution of %q: %v: want a finite number > 0", k, v)
		}
		if _, dup := m[k]; dup {
			return nil, invalidf("duplicate key %q", k)
		}
		m[k] = v
	}
	r.leave()
	return m, nil
}
