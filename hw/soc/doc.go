// Package soc reads the system-on-chip's own sensors. Thermal reports the
// temperature of a Linux thermal zone (/sys/class/thermal/thermal_zone*/temp,
// millidegrees Celsius; see the kernel's Documentation/driver-api/thermal/sysfs-api.rst).
//
// On machines without a thermal zone (containers, some VMs, other OSes)
// NewThermal fails with an error that wraps ErrNoThermalZone, so that callers
// can treat the sensor as optional.
package soc
