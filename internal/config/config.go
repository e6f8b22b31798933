// Package config loads edgeplane's HCL configuration files.
//
// A component declares one struct with gohcl tags (`hcl:"name,optional"`,
// blocks as `hcl:"sensor,block"`) and, when some values need checking or
// parsing (durations, ranges), implements Validator. Every problem, from the
// HCL syntax to a value out of range, comes back as an *Error whose text
// names file:line:col, so `edgeplane-x -check -config F` and a failed start
// print the same precise message.
//
// Expressions may call env("NAME") and file("path") so that secrets live in
// the environment or in files, never only in the config.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Validator is implemented by config structs that check or derive values
// after decoding. Validate reports problems through c, which places them at
// the attribute they concern.
type Validator interface {
	Validate(c *Checker)
}

// Error is a failed load: one or more diagnostics with source positions.
type Error struct {
	Diags hcl.Diagnostics
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString(": ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}

// Load reads the HCL file at path and decodes it into v, a pointer to a
// tagged struct; see Parse.
func Load(path string, v any) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, v)
}

// Parse decodes src (named filename in messages) into v. Unknown keys,
// wrong types and missing required values are errors; then v.Validate runs
// when v is a Validator. On error v may be partly filled.
func Parse(filename string, src []byte, v any) error {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return &Error{Diags: diags}
	}
	diags = gohcl.DecodeBody(file.Body, evalContext(), v)
	if diags.HasErrors() {
		return &Error{Diags: diags}
	}
	if val, ok := v.(Validator); ok {
		body, _ := file.Body.(*hclsyntax.Body)
		c := &Checker{body: body, file: filename}
		val.Validate(c)
		if c.diags.HasErrors() {
			return &Error{Diags: c.diags}
		}
	}
	return nil
}

// IsError reports whether err is a configuration error (as opposed to I/O).
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func evalContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env": function.New(&function.Spec{
				Params: []function.Parameter{{Name: "name", Type: cty.String}},
				Type:   function.StaticReturnType(cty.String),
				Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
					name := args[0].AsString()
					v, ok := os.LookupEnv(name)
					if !ok {
						return cty.NilVal, fmt.Errorf("environment variable %s is not set", name)
					}
					return cty.StringVal(v), nil
				},
			}),
			"file": function.New(&function.Spec{
				Params: []function.Parameter{{Name: "path", Type: cty.String}},
				Type:   function.StaticReturnType(cty.String),
				Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
					b, err := os.ReadFile(args[0].AsString())
					if err != nil {
						return cty.NilVal, err
					}
					return cty.StringVal(strings.TrimRight(string(b), "\r\n")), nil
				},
			}),
		},
	}
}

// Checker records validation problems at the source range of the attribute
// they concern. A Checker for a nested block comes from Block.
type Checker struct {
	body  *hclsyntax.Body // nil when the source was not native syntax
	file  string
	diags hcl.Diagnostics
	root  *Checker // where diagnostics are collected; nil for the root
}

func (c *Checker) top() *Checker {
	if c.root != nil {
		return c.root
	}
	return c
}

// Block returns a Checker for the first block of type typ with the given
// labels (all of them, in order). When there is none, problems are placed at
// the enclosing body.
func (c *Checker) Block(typ string, labels ...string) *Checker {
	n := &Checker{file: c.file, root: c.top()}
	if c.body == nil {
		return n
	}
	n.body = c.body
outer:
	for _, b := range c.body.Blocks {
		if b.Type != typ || len(b.Labels) != len(labels) {
			continue
		}
		for i := range labels {
			if b.Labels[i] != labels[i] {
				continue outer
			}
		}
		n.body = b.Body
		return n
	}
	return n
}

func (c *Checker) rangeOf(attr string) *hcl.Range {
	if c.body == nil {
		return &hcl.Range{Filename: c.file, Start: hcl.InitialPos, End: hcl.InitialPos}
	}
	if a, ok := c.body.Attributes[attr]; ok {
		r := a.Expr.Range()
		return &r
	}
	r := c.body.SrcRange
	return &r
}

// Errorf records an error about attribute attr of this body.
func (c *Checker) Errorf(attr, format string, args ...any) {
	t := c.top()
	t.diags = append(t.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("invalid %s", attr),
		Detail:   fmt.Sprintf(format, args...),
		Subject:  c.rangeOf(attr),
	})
}

// Duration parses s (Go syntax: "500ms", "1m30s") for attribute attr. An
// empty s gives def. Values outside [min, max] are errors (max 0 = none).
func (c *Checker) Duration(attr, s string, def, min, max time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.Errorf(attr, "%q is not a duration; write it like \"500ms\", \"10s\" or \"1m\"", s)
		return def
	}
	if d < min || (max > 0 && d > max) {
		if max > 0 {
			c.Errorf(attr, "%s is out of range; it must be between %s and %s", d, min, max)
		} else {
			c.Errorf(attr, "%s is too small; it must be at least %s", d, min)
		}
		return def
	}
	return d
}

// Int checks that v is within [min, max] for attribute attr; v == 0 gives def.
func (c *Checker) Int(attr string, v, def, min, max int) int {
	if v == 0 {
		return def
	}
	if v < min || v > max {
		c.Errorf(attr, "%d is out of range; it must be between %d and %d", v, min, max)
		return def
	}
	return v
}

// OneOf checks that s is one of the allowed values; "" gives def.
func (c *Checker) OneOf(attr, s, def string, allowed ...string) string {
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	c.Errorf(attr, "%q is not one of %s", s, strings.Join(allowed, ", "))
	return def
}

// Bytes parses a size like "64MiB", "512KiB", "1GB" or a plain byte count for
// attribute attr; "" gives def.
func (c *Checker) Bytes(attr, s string, def, min int64) int64 {
	if s == "" {
		return def
	}
	n, err := ParseBytes(s)
	if err != nil {
		c.Errorf(attr, "%v", err)
		return def
	}
	if n < min {
		c.Errorf(attr, "%d bytes is too small; it must be at least %d", n, min)
		return def
	}
	return n
}

// ParseBytes parses a size: a number followed by an optional unit
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size; write it like \"64MiB\" or \"500KB\"", s)
	}
	var n int64
	for _, ch := range t[:i] {
		n = n*10 + int64(ch-'0')
		if n > 1<<50 {
			return 0, fmt.Errorf("%q is too large", s)
		}
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	m, ok := mult[strings.TrimSpace(t[i:])]
	if !ok {
		return 0, fmt.Errorf("%q has an unknown unit; use B, KB, MB, GB, KiB, MiB or GiB", s)
	}
	return n * m, nil
}
