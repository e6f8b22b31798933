// Package logging builds the one root hclog logger of an edgeplane daemon.
// Components get children with Named; connections add With("device", id).
package logging

import (
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
)

// Options configure the root logger. The zero value logs at info level to
// stderr, as JSON unless stderr is a terminal.
type Options struct {
	Name   string // root name, e.g. "edgeplane-hubd"
	Level  string // trace, debug, info, warn, error; "" = info
	Format string // "json", "text" or "" (auto: text on a terminal)
	Output io.Writer
}

// New returns the root logger.
func New(opts *Options) hclog.Logger {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	json := o.Format == "json"
	if o.Format == "" {
		json = true
		if f, ok := o.Output.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			json = false
		}
	}
	level := hclog.LevelFromString(o.Level)
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       o.Name,
		Level:      level,
		Output:     o.Output,
		JSONFormat: json,
	})
}
