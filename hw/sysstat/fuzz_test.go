package sysstat_test

import (
	"os"
	"testing"

	"github.com/edgeplane/edgeplane/hw/sysstat"
)

func addSeeds(f *testing.F, name string) {
	for _, dir := range []string{"pi4", "old", "broken"} {
		b, err := os.ReadFile("testdata/" + dir + "/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseMeminfo: any text either fails or gives a ratio in [0, 1].
func FuzzParseMeminfo(f *testing.F) {
	addSeeds(f, "meminfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := sysstat.ParseMeminfo(b)
		if err == nil && !(r >= 0 && r <= 1) {
			t.Fatalf("ratio %v out of [0, 1] for %q", r, b)
		}
	})
}

// FuzzParseLoad: any text either fails or gives three finite non-negative
// averages.
func FuzzParseLoad(f *testing.F) {
	addSeeds(f, "loadavg")
	f.Fuzz(func(t *testing.T, b []byte) {
		load, err := sysstat.ParseLoad(b)
		if err != nil {
			return
		}
		for _, v := range load {
			if !(v >= 0) || v > 1e308 {
				t.Fatalf("load %v from %q", load, b)
			}
		}
	})
}
