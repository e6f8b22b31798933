package redis_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
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

// The publish script stores the publications of one call channel by
// channel: contiguous offsets per channel, duplicates of the channel's
// spool id and seq (also within the call) answered with the top offset,
// the meta hash written once per channel, and the expiry of both keys set
// to at least the history ttl, refreshed only when the last refresh is
// older than the refresh interval.
func TestPublishScriptGroups(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	do := func(args ...string) string {
		t.Helper()
		v, err := srv.Do(t.Context(), args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return v
	}
	sa, ma, sb, mb := "t:{a}:s", "t:{a}:m", "t:{b}:s", "t:{b}:m"
	// ttl 60 s: expiry 90 s, refreshed at most every 30 s.
	head := []string{"EVAL", redis.PublishLua, "4", sa, ma, sb, mb, "1000", "90000", "30000", "publish"}
	got := do(append(head,
		"t:{a}", "ep-a", "5", "d1", "A", "1", "d2", "A", "2", "d2 again", "A", "2", "d1 again", "A", "1", "d3", "A", "3",
		"t:{b}", "ep-b", "2", "x", "", "0", "y", "B", "7")...)
	if want := "ep-a\n1\n2\n-3\n-3\n3\nep-b\n1\n2"; got != want {
		t.Fatalf("script returned %q, want %q", got, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"XRANGE", sa, "-", "+"}, "1-0\nd\nd1\n2-0\nd\nd2\n3-0\nd\nd3"},
		{[]string{"XRANGE", sb, "-", "+"}, "1-0\nd\nx\n2-0\nd\ny"},
		{[]string{"HMGET", ma, "e", "o", "sp", "sq"}, "ep-a\n3\nA\n3"},
		{[]string{"HMGET", mb, "e", "o", "sp", "sq"}, "ep-b\n2\nB\n7"},
	} {
		if got := do(tc.args...); got != tc.want {
			t.Errorf("%v = %q, want %q", tc.args, got, tc.want)
		}
	}
	for _, k := range []string{sa, ma, sb, mb} {
		if ms, err := strconv.Atoi(do("PTTL", k)); err != nil || ms <= 60000 {
			t.Errorf("PTTL %s = %d, %v; want more than the ttl (60000)", k, ms, err)
		}
	}
	pexpires := func() string {
		for _, l := range strings.Split(do("INFO", "commandstats"), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_pexpire:calls="); ok {
				return strings.Split(c, ",")[0]
			}
		}
		return "0"
	}
	do("CONFIG", "RESETSTAT")
	// Within the refresh interval: stored, the expiry left alone.
	if got := do(append([]string{"EVAL", redis.PublishLua, "2", sa, ma}, "1000", "90000", "30000", "publish", "t:{a}", "ep-new", "1", "d4", "A", "4")...); got != "ep-a\n4" {
		t.Fatalf("second call returned %q", got)
	}
	if n := pexpires(); n != "0" {
		t.Fatalf("PEXPIRE called %s times within the refresh interval, want 0", n)
	}
	// Interval over (0 here): both keys refreshed.
	if got := do(append([]string{"EVAL", redis.PublishLua, "2", sa, ma}, "1000", "90000", "0", "publish", "t:{a}", "ep-new", "1", "d5", "A", "5")...); got != "ep-a\n5" {
		t.Fatalf("third call returned %q", got)
	}
	if n := pexpires(); n != "2" {
		t.Fatalf("PEXPIRE called %s times after the refresh interval, want 2", n)
	}
}
