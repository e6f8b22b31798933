package sysstat_test

import (
	"testing"

	"github.com/edgeplane/edgeplane/hw/sysstat"
)

func TestDiskRatio(t *testing.T) {
	cases := []struct {
		name                  string
		blocks, bfree, bavail uint64
		want                  float64
		wantErr               bool
	}{
		// 1000 blocks, 400 free of which 50 reserved for root: df shows
		// 600 used, 350 available, 63%.
		{"reserved blocks do not count as available", 1000, 400, 350, 600.0 / 950, false},
		{"full for users", 1000, 50, 0, 1, false},
		{"empty", 1000, 1000, 1000, 0, false},
		{"size zero", 0, 0, 0, 0, false},
		{"free above size", 10, 20, 5, 0, true},
	}
	for _, tc := range cases {
		got, err := sysstat.DiskRatio(tc.blocks, tc.bfree, tc.bavail)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: diskRatio = %v, %v; want %v (error %v)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
