package bridge

import (
	"fmt"
	"strings"
)

// Placeholders of topic templates and import patterns.
const (
	phRegion = "<region>"
	phDevice = "<device>"
	phSensor = "<sensor>"
)

// template is an export topic template such as
// "edgeplane/<region>/<device>/<sensor>", split at its placeholders.
type template struct {
	src   string
	parts []string // literals at even indexes, placeholders at odd ones
}

func parseTemplate(s string) (template, error) {
	if s == "" {
		return template{}, fmt.Errorf("empty topic template")
	}
	if strings.ContainsAny(s, "+#\x00") {
		return template{}, fmt.Errorf("topic template %q contains a wildcard (+ or #) or NUL", s)
	}
	t := template{src: s}
	rest := s
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			t.parts = append(t.parts, rest)
			return t, nil
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			return template{}, fmt.Errorf("topic template %q has an unclosed <", s)
		}
		ph := rest[i : i+j+1]
		switch ph {
		case phRegion, phDevice, phSensor:
		default:
			return template{}, fmt.Errorf("topic template %q: unknown placeholder %s (use <region>, <device>, <sensor>)", s, ph)
		}
		t.parts = append(t.parts, rest[:i], ph)
		rest = rest[i+j+1:]
	}
}

func (t template) has(ph string) bool {
	for i := 1; i < len(t.parts); i += 2 {
		if t.parts[i] == ph {
			return true
		}
	}
	return false
}

// expand fills the placeholders. Values are made safe as topic text: a
// '/', '+' or '#' inside a sensor id would change the topic's levels or make
// it a filter, so they become '_'. Device ids and regions cannot hold them.
func (t template) expand(region, device, sensor string) string {
	var b strings.Builder
	for i, p := range t.parts {
		if i%2 == 0 {
			b.WriteString(p)
			continue
		}
		switch p {
		case phRegion:
			b.WriteString(topicSafe(region))
		case phDevice:
			b.WriteString(topicSafe(device))
		case phSensor:
			b.WriteString(topicSafe(sensor))
		}
	}
	return b.String()
}

func topicSafe(s string) string {
	if !strings.ContainsAny(s, "/+#\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, s)
}

// pattern is an import topic pattern such as "tele/<device>/SENSOR": each
// level is a literal, <device>, <sensor>, <region>, + or (last) #. Its
// subscription filter has + for every placeholder.
type pattern struct {
	src    string
	levels []string
}

func parsePattern(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("empty topic pattern")
	}
	if strings.HasPrefix(s, "$") {
		return pattern{}, fmt.Errorf("topic pattern %q starts with $; write shared subscriptions with share_group", s)
	}
	p := pattern{src: s, levels: strings.Split(s, "/")}
	for i, l := range p.levels {
		switch {
		case l == "#":
			if i != len(p.levels)-1 {
				return pattern{}, fmt.Errorf("topic pattern %q: # must be the last level", s)
			}
		case l == "+", l == phDevice, l == phSensor, l == phRegion:
		case strings.ContainsAny(l, "+#<>\x00"):
			return pattern{}, fmt.Errorf("topic pattern %q: level %q mixes text with a wildcard or placeholder", s, l)
		}
	}
	return p, nil
}

func (p pattern) has(ph string) bool {
	for _, l := range p.levels {
		if l == ph {
			return true
		}
	}
	return false
}

// filter is the MQTT subscription filter of p.
func (p pattern) filter() string {
	out := make([]string, len(p.levels))
	for i, l := range p.levels {
		switch l {
		case phDevice, phSensor, phRegion:
			out[i] = "+"
		default:
			out[i] = l
		}
	}
	return strings.Join(out, "/")
}

// topicFields are the placeholder values a topic matched.
type topicFields struct {
	device, sensor, region string
}

// match reports whether topic matches p, and what its placeholders hold.
func (p pattern) match(topic string) (topicFields, bool) {
	var f topicFields
	levels := strings.Split(topic, "/")
	for i, l := range p.levels {
		if l == "#" {
			return f, true
		}
		if i >= len(levels) {
			return f, false
		}
		switch l {
		case "+":
		case phDevice:
			f.device = levels[i]
		case phSensor:
			f.sensor = levels[i]
		case phRegion:
			f.region = levels[i]
		default:
			if levels[i] != l {
				return f, false
			}
		}
	}
	return f, len(levels) == len(p.levels)
}
