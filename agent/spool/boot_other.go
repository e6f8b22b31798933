//go:build !linux

package spool

// bootID is unknown off Linux: every open is treated as after a reboot,
// which costs a seq jump after a process crash, never a repeat.
func bootID() string { return "" }
