//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import "os"

// lockDir does nothing where flock is missing: keep one agent per spool dir.
func lockDir(*os.File) error { return nil }
