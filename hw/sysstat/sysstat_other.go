//go:build !linux

package sysstat

import (
	"errors"
	"fmt"
	"runtime"
)

// DiskUsed is only implemented on Linux; elsewhere it returns an error
// wrapping errors.ErrUnsupported.
func DiskUsed(path string) (float64, error) {
	return 0, fmt.Errorf("sysstat: disk usage of %s on %s: %w", path, runtime.GOOS, errors.ErrUnsupported)
}
