// Package sysstat reports the gateway's own health as an hw.Sensor: load
// average, memory in use and disk in use, read from /proc and statfs(2).
//
// Channels (with the default name "system"):
//
//	system.load1, system.load5, system.load15  run-queue averages, 0.01 steps
//	system.memory_used   (MemTotal - MemAvailable) / MemTotal, 0..1
//	system.disk_used     used / (used + available to users), 0..1, as df(1)
//
// Memory "used" follows free(1): MemAvailable counts page cache the kernel
// can drop, so a gateway that has filled its cache reads as mostly free.
// Kernels older than 3.14 lack MemAvailable; then MemFree + Buffers +
// Cached stands in for it. Disk used ignores the blocks reserved for root,
// so 1.0 means an unprivileged agent can write no more.
//
// The proc root is an option so tests (and containers with /proc mounted
// elsewhere) can point it at another directory. Reading /proc and statfs is
// Linux only; elsewhere New fails.
package sysstat
