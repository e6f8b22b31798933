//go:build !linux

package testenv

import "syscall"

// childAttr: without Pdeathsig, a test binary that dies leaves its servers
// running.
func childAttr() *syscall.SysProcAttr { return nil }
