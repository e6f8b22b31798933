package hubd_test

import (
	"context"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
)

// TestHubRegistry: a running hub is listed in the backplane's hub registry
// and removes itself when it stops.
func TestHubRegistry(t *testing.T) {
	bp, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	h := startHubWith(t, nil, &hubd.Options{Backplane: bp})
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for {
		hubs, err := bp.Hubs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(hubs) == 1 && hubs[0].ID == "hub-t" && hubs[0].Region == "test" && hubs[0].Addr == "http://127.0.0.1:8080" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hubs %+v", hubs)
		}
		time.Sleep(5 * time.Millisecond) // registration runs beside Serve: poll
	}
	h.close()
	if hubs, err := bp.Hubs(ctx); err != nil || len(hubs) != 0 {
		t.Fatalf("after stop: %+v %v", hubs, err)
	}
}
