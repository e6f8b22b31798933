// Package hwreg wires edgeplane's drivers to the hardware of the machine:
// it initialises periph's host drivers, finds I²C buses, 1-Wire buses and
// GPIO pins by the names written in the configuration, and builds the
// sensors and actuators on them.
//
// Everything below this package takes bus and pin objects; only hwreg
// touches periph's registries (host.Init, i2creg, onewirereg, gpioreg), and
// only hwreg owns the bus handles it opens: a sensor returned by an Open
// function closes its bus when it is closed.
//
// A name that periph does not know fails at start with the name asked for
// and the names periph did find, for instance
//
//	hwreg: i2c bus "3" not found; periph found: "I2C1" (number 1)
//
// so that a wrong bus number on a Raspberry Pi is fixed from the log alone.
package hwreg
