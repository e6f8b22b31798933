package bridge

import (
	"slices"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// ExportedChannels lists the channels the bridge has export workers for,
// as "<export>:<channel>", sorted.
func (b *Bridge) ExportedChannels() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for ch, ws := range b.workers {
		for _, w := range ws {
			out = append(out, w.e.cfg.Name+":"+ch)
		}
	}
	slices.Sort(out)
	return out
}

// SplitCBORForTest splits a cbor export payload into its frames.
func SplitCBORForTest(b []byte) ([][]byte, error) { return splitCBOR(b) }

func deviceState(id string, labels map[string]string) backplane.DeviceState {
	return backplane.DeviceState{ID: id, Labels: labels}
}
