package sysstat

import (
	"fmt"
	"syscall"
)

// DiskUsed returns the share of the file system holding path that is in
// use, 0..1, as df(1) computes it.
func DiskUsed(path string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("sysstat: statfs %s: %w", path, err)
	}
	r, err := diskRatio(st.Blocks, st.Bfree, st.Bavail)
	if err != nil {
		return 0, fmt.Errorf("sysstat: statfs %s: %w", path, err)
	}
	return r, nil
}
