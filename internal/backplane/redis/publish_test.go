package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// A Publish still queued behind a stalled batch when its ctx ends is
// withdrawn: it returns the ctx error at once and is never stored. The
// batch in flight completes when the server answers again.
func TestPublishWithdrawnWhenQueued(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	reg := prometheus.NewRegistry()
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{IOTimeout: 10 * time.Second, Registerer: reg})
	batches := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "edgeplane_backplane_publish_batch_publications" {
				return mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	const ch = "dev/queue"
	pub(t, b, ch, "m1") // connect and load the script
	srv.Pause()
	first := make(chan error, 1)
	go func() {
		_, err := b.Publish(context.Background(), ch, []byte("m2"), backplane.PublishOptions{})
		first <- err
	}()
	// Wait until the first call leads (its batch is being sent).
	deadline := time.Now().Add(waitTimeout)
	for batches() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second batch was never sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Publish(ctx, ch, []byte("never"), backplane.PublishOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued Publish: %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("queued Publish returned after %v, not when its ctx ended", waited)
	}
	srv.Resume()
	if err := <-first; err != nil {
		t.Fatalf("the batch in flight: %v", err)
	}
	h, err := b.History(t.Context(), ch, backplane.HistoryOptions{Last: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Publications) != 2 || string(h.Publications[1].Data) != "m2" {
		t.Fatalf("history %v, want m1 and m2 only", h.Publications)
	}
}
