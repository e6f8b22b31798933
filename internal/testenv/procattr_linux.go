package testenv

import "syscall"

// childAttr makes the kernel kill a server when the thread that started it
// ends, which includes the test binary dying.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
