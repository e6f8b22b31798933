package memory_test

import (
	"context"
	"fmt"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
)

// Publish with dedup, then recover from a position the way a dashboard's
// sub with "since" does.
func Example() {
	ctx := context.Background()
	b, err := memory.New(&memory.Options{HistorySize: 100})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	for seq := uint64(1); seq <= 3; seq++ {
		res, _ := b.Publish(ctx, "dev/pi-7", fmt.Appendf(nil, "frame %d", seq), backplane.PublishOptions{SpoolID: "s1", Seq: seq})
		fmt.Println("stored at offset", res.Position.Offset)
	}
	// The agent resends frame 2 after a reconnect: nothing is stored.
	res, _ := b.Publish(ctx, "dev/pi-7", []byte("frame 2"), backplane.PublishOptions{SpoolID: "s1", Seq: 2})
	fmt.Println("duplicate:", res.Duplicate, "top:", res.Position.Offset)

	since := backplane.Position{Epoch: res.Position.Epoch, Offset: 1}
	h, _ := b.History(ctx, "dev/pi-7", backplane.HistoryOptions{Since: &since})
	fmt.Println("recovered:", h.Recovered)
	for _, p := range h.Publications {
		fmt.Printf("%d %s\n", p.Offset, p.Data)
	}
	// Output:
	// stored at offset 1
	// stored at offset 2
	// stored at offset 3
	// duplicate: true top: 3
	// recovered: true
	// 2 frame 2
	// 3 frame 3
}
