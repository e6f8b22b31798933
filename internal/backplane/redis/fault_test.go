package redis_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

const waitTimeout = 15 * time.Second

func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" && len(m.GetLabel()) == 0 || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return metricValue(m)
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
}

func metricValue(m *dto.Metric) float64 { return m.GetCounter().GetValue() }

// waitReady polls Ready until it succeeds.
func waitReady(t *testing.T, b *redis.Broker) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := b.Ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after %v: %v", waitTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pub(t *testing.T, b backplane.Broker, ch string, data string) backplane.PublishResult {
	t.Helper()
	r, err := b.Publish(t.Context(), ch, []byte(data), backplane.PublishOptions{})
	if err != nil {
		t.Fatalf("publish %q: %v", data, err)
	}
	return r
}

// checkContiguous checks that evs are publications 1..n of epoch, data m<off>.
func checkContiguous(t *testing.T, evs []backplanetest.Event, epoch string, from, n uint64) {
	t.Helper()
	if uint64(len(evs)) != n-from+1 {
		t.Fatalf("%d events, want offsets %d..%d", len(evs), from, n)
	}
	for i, e := range evs {
		off := from + uint64(i)
		if e.Kind != backplanetest.EventPublication || e.Epoch != epoch || e.Publication.Offset != off ||
			string(e.Publication.Data) != fmt.Sprintf("m%d", off) {
			t.Fatalf("event %d is %v, want publication %d of epoch %s", i, e, off, epoch)
		}
	}
}

// Redis killed with SIGKILL and restarted empty: calls fail with
// ErrUnavailable while it is down, the Broker comes back by itself, and the
// lost history reaches the handler as a reset with the new epoch.
func TestRedisKilledAndRestarted(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	reg := prometheus.NewRegistry()
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{Registerer: reg, DialTimeout: 200 * time.Millisecond})
	rec := backplanetest.NewRecorder(t)
	run(t, b, rec)
	const ch = "dev/kill"
	if err := b.Subscribe(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	var epoch string
	for i := 1; i <= 5; i++ {
		epoch = pub(t, b, ch, fmt.Sprintf("m%d", i)).Position.Epoch
	}
	checkContiguous(t, rec.WaitChannel(t, waitTimeout, ch, 5), epoch, 1, 5)

	srv.Kill()
	ctx := t.Context()
	if _, err := b.Publish(ctx, ch, []byte("lost"), backplane.PublishOptions{SpoolID: "s", Seq: 1}); !errors.Is(err, backplane.ErrUnavailable) {
		t.Fatalf("Publish while down: %v, want ErrUnavailable", err)
	}
	if _, err := b.History(ctx, ch, backplane.HistoryOptions{Last: 1}); !errors.Is(err, backplane.ErrUnavailable) {
		t.Fatalf("History while down: %v, want ErrUnavailable", err)
	}
	if err := b.Ready(ctx); !errors.Is(err, backplane.ErrUnavailable) {
		t.Fatalf("Ready while down: %v, want ErrUnavailable", err)
	}
	if err := b.SetDevice(ctx, backplane.DeviceState{ID: "pi"}, 0); !errors.Is(err, backplane.ErrUnavailable) {
		t.Fatalf("SetDevice while down: %v, want ErrUnavailable", err)
	}

	srv.Restart()
	waitReady(t, b)
	// The reconnected subscription finds a new epoch and says so before
	// any publication of it.
	evs := rec.WaitChannel(t, waitTimeout, ch, 6)
	reset := evs[5]
	if reset.Kind != backplanetest.EventReset || reset.Position.Epoch == epoch {
		t.Fatalf("after restart: %v, want a reset with a new epoch", reset)
	}
	r := pub(t, b, ch, "m1")
	if r.Position != (backplane.Position{Epoch: reset.Position.Epoch, Offset: 1}) {
		t.Fatalf("first publication after restart at %+v, want offset 1 of %s", r.Position, reset.Position.Epoch)
	}
	evs = rec.WaitChannel(t, waitTimeout, ch, 7)
	checkContiguous(t, evs[6:], reset.Position.Epoch, 1, 1)
	if got := counterValue(t, reg, "edgeplane_backplane_delivery_resets_total", "epoch"); got != 1 {
		t.Fatalf("epoch resets %v, want 1", got)
	}
}

// Killing the pub/sub connection while publications flow loses nothing:
// the Broker subscribes again and fills the gap from the stream.
func TestPubSubConnectionKilled(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	reg := prometheus.NewRegistry()
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{Registerer: reg})
	// Another hub publishes.
	pubB := newBroker(t, []string{srv.Addr()}, &redis.Options{Prefix: prefixOf(t, b)})
	rec := backplanetest.NewRecorder(t)
	run(t, b, rec)
	const ch = "dev/pubsub-kill"
	if err := b.Subscribe(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	const n, kills = 600, 3
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if _, err := pubB.Publish(context.Background(), ch, fmt.Appendf(nil, "m%d", i), backplane.PublishOptions{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for k := 1; k <= kills; k++ {
		rec.WaitChannel(t, waitTimeout, ch, k*n/(kills+1))
		// Right after a kill the Broker may still be reconnecting: kill until
		// a connection was there to kill.
		deadline := time.Now().Add(waitTimeout)
		for {
			v, err := srv.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub")
			if err != nil {
				t.Fatal(err)
			}
			if v != "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no pub/sub connection to kill")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	epoch := rec.Channel(ch)[0].Epoch
	checkContiguous(t, rec.WaitChannel(t, waitTimeout, ch, n), epoch, 1, n)
	// CLIENT KILL TYPE pubsub also hits the publishing broker's pub/sub
	// connection, so not every kill lands on b's: at least one must have.
	if got := counterValue(t, reg, "edgeplane_backplane_pubsub_reconnects_total", ""); got < 1 {
		t.Fatalf("reconnects %v, want at least 1", got)
	}
	t.Logf("filled after resubscribe: %v", counterValue(t, reg, "edgeplane_backplane_filled_publications_total", "resubscribe"))
}

// A notification lost while the connection stays up shows as an offset gap
// on the next one, which is filled from the stream in order.
func TestLiveGapFilled(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	reg := prometheus.NewRegistry()
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{Registerer: reg})
	rec := backplanetest.NewRecorder(t)
	run(t, b, rec)
	const ch = "dev/gap"
	if err := b.Subscribe(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	epoch := pub(t, b, ch, "m1").Position.Epoch
	rec.WaitChannel(t, waitTimeout, ch, 1)
	// Store offsets 2 and 3 with their notifications sent to a channel
	// nobody listens to.
	prefix := prefixOf(t, b)
	for i := 2; i <= 3; i++ {
		_, err := srv.Do(t.Context(), "EVAL", redis.PublishLua, "2",
			prefix+":{"+ch+"}:s", prefix+":{"+ch+"}:m",
			"1000", "60000", "1000", "publish", "nowhere", "unused", "1", fmt.Sprintf("m%d", i), "", "0")
		if err != nil {
			t.Fatal(err)
		}
	}
	pub(t, b, ch, "m4")
	checkContiguous(t, rec.WaitChannel(t, waitTimeout, ch, 4), epoch, 1, 4)
	if got := counterValue(t, reg, "edgeplane_backplane_filled_publications_total", "gap"); got != 3 {
		t.Fatalf("filled on gap %v, want 3 (2, 3 and the live 4)", got)
	}
}

// A pub/sub connection that stops answering (server stalled) is noticed by
// the health check, dropped and re-established, without a gap.
func TestServerPaused(t *testing.T) {
	srv := testenv.StartRedis(t, nil)
	reg := prometheus.NewRegistry()
	b := newBroker(t, []string{srv.Addr()}, &redis.Options{
		Registerer: reg, HealthInterval: 100 * time.Millisecond, IOTimeout: 300 * time.Millisecond,
	})
	rec := backplanetest.NewRecorder(t)
	run(t, b, rec)
	const ch = "dev/paused"
	if err := b.Subscribe(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	epoch := pub(t, b, ch, "m1").Position.Epoch
	rec.WaitChannel(t, waitTimeout, ch, 1)
	srv.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	err := b.Ready(ctx)
	cancel()
	if err == nil {
		t.Fatal("Ready while the server is paused")
	}
	// Wait until the health check dropped the pub/sub connection.
	deadline := time.Now().Add(waitTimeout)
	for counterValue(t, reg, "edgeplane_backplane_pubsub_reconnects_total", "") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("paused pub/sub connection never dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Resume()
	waitReady(t, b)
	for i := 2; i <= 5; i++ {
		pub(t, b, ch, fmt.Sprintf("m%d", i))
	}
	checkContiguous(t, rec.WaitChannel(t, waitTimeout, ch, 5), epoch, 1, 5)
}

func prefixOf(t *testing.T, b *redis.Broker) string {
	t.Helper()
	return b.Prefix()
}
