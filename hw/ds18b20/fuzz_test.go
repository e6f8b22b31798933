package ds18b20_test

import (
	"fmt"
	"testing"

	"github.com/edgeplane/edgeplane/hw/ds18b20"
)

// FuzzParseAddress: whatever parses has a valid CRC and survives a round
// trip through both written forms.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"28-0000070e41ac", "0x740000070e41ac28", "0x750000070e41ac28", "28-07", "10-000801b5b1f2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ds18b20.ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ds18b20.ParseAddress(ds18b20.FormatAddress(a))
		if err != nil || b != a {
			t.Fatalf("%q -> %#x -> %q -> %#x, %v", s, uint64(a), ds18b20.FormatAddress(a), uint64(b), err)
		}
		c, err := ds18b20.ParseAddress(fmt.Sprintf("0x%016x", uint64(a)))
		if err != nil || c != a {
			t.Fatalf("%q: 64-bit form does not round-trip: %v", s, err)
		}
	})
}
