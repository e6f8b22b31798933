package frame

// White-box hooks for the tests of package frame_test.
var (
	AppendJSONRounded    = appendJSONRounded
	AppendJSONFloatValue = appendJSONFloatValue
	RoundTo              = roundTo
)

// RoundToSlow is roundTo without its integer fast path.
func RoundToSlow(v, res float64) float64 {
	if q := v / res; q < 1<<53 && q > -(1<<53) {
		return roundToSlow(v, res, q)
	}
	return v
}

// ParseJSON is the JSON parser of the dashboard link with limits out of the way.
func ParseJSON(b []byte) (any, error) {
	return parseJSON(b, Limits{MaxMessageBytes: 1 << 30, MaxNesting: 1 << 20, MaxArrayLen: 1 << 30, MaxMapPairs: 1 << 30}, false)
}

// Interned is how many sensor ids the decoder keeps.
func (d *AgentDecoder) Interned() int { return len(d.ids.few) + len(d.ids.many) }

// MaxInterned bounds Interned, beside the 16 kept in order.
const MaxInterned = maxInterned
