package spool

import (
	"os"
	"strings"
)

// bootID identifies the running kernel boot. Two opens with the same boot
// id share one page cache, so a process crash between them lost nothing
// that write(2) had accepted.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
