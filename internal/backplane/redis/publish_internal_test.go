package redis

import (
	"slices"
	"testing"
)

// groupCalls keeps each channel's requests in order and in one call, packs
// at most per publications in a call unless one channel has more, and with
// oneGroup one channel per call.
func TestGroupCalls(t *testing.T) {
	r := func(ch string) *pubReq { return &pubReq{ch: ch} }
	a1, b1, a2, c1, a3 := r("a"), r("b"), r("a"), r("c"), r("a")
	batch := []*pubReq{a1, b1, a2, c1, a3}
	type call struct {
		reqs   []*pubReq
		groups []int
	}
	for _, tc := range []struct {
		name     string
		per      int
		oneGroup bool
		want     []call
	}{
		{"one call", 64, false, []call{{[]*pubReq{a1, a2, a3, b1, c1}, []int{3, 1, 1}}}},
		{"split, a channel never", 2, false, []call{
			{[]*pubReq{a1, a2, a3}, []int{3}}, {[]*pubReq{b1, c1}, []int{1, 1}},
		}},
		{"split before a group that does not fit", 4, false, []call{
			{[]*pubReq{a1, a2, a3, b1}, []int{3, 1}}, {[]*pubReq{c1}, []int{1}},
		}},
		{"one group per call", 64, true, []call{
			{[]*pubReq{a1, a2, a3}, []int{3}}, {[]*pubReq{b1}, []int{1}}, {[]*pubReq{c1}, []int{1}},
		}},
		{"single", 64, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := batch
			if tc.want == nil {
				in = []*pubReq{b1}
				tc.want = []call{{[]*pubReq{b1}, []int{1}}}
			}
			got := groupCalls(in, tc.per, tc.oneGroup)
			if len(got) != len(tc.want) {
				t.Fatalf("%d calls, want %d", len(got), len(tc.want))
			}
			for i, c := range got {
				if !slices.Equal(c.reqs, tc.want[i].reqs) || !slices.Equal(c.groups, tc.want[i].groups) {
					t.Errorf("call %d: %d reqs in groups %v, want %d in %v", i, len(c.reqs), c.groups, len(tc.want[i].reqs), tc.want[i].groups)
				}
			}
		})
	}
}
