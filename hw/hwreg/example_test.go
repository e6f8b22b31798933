package hwreg_test

import (
	"context"
	"fmt"
	"log"

	"github.com/edgeplane/edgeplane/hw/bme280"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"github.com/edgeplane/edgeplane/hw/hwreg"
)

// The agent decodes each sensor block's body into the driver's Options,
// sets Name from the block's name label, and opens it.
func ExampleOpenBME280() {
	s, err := hwreg.OpenBME280(&bme280.Options{Name: "env", Bus: "1", Address: "0x76", Period: "10s"})
	if err != nil {
		log.Fatal(err) // e.g. hwreg: i2c bus "1" not found; periph found: "I2C20" (number 20)
	}
	defer s.Close()
	rs, err := s.Read(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rs {
		fmt.Println(r.ID, r.Value)
	}
}

func ExampleOpenOutput() {
	relay, err := hwreg.OpenOutput(&hwgpio.OutputOptions{Name: "relay1", Pin: "GPIO27", ActiveLow: true})
	if err != nil {
		log.Fatal(err)
	}
	defer relay.Close() // back to off
	if err := relay.Set(context.Background(), true); err != nil {
		log.Fatal(err)
	}
}
