// Package version reports the build's version, commit and Go version.
// Version and Commit are stamped at link time:
//
//	go build -ldflags "-X github.com/edgeplane/edgeplane/internal/version.Version=v0.1.0 -X github.com/edgeplane/edgeplane/internal/version.Commit=abc123"
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker; read-only at run time.
var (
	Version = "dev"
	Commit  = ""
)

// Info is what a binary reports about itself.
type Info struct {
	Version   string
	Commit    string
	GoVersion string
}

// Get returns the build info, falling back to the VCS stamp Go embeds.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if i.Commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					i.Commit = s.Value
				}
			}
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

// String is the -version line: "edgeplane-hubd v0.1.0 (commit abc123, go1.26.8)".
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}
