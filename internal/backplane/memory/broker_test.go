package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"go.uber.org/goleak"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newBroker(t *testing.T, opts *memory.Options) *memory.Broker {
	t.Helper()
	var o memory.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})
	}
	b, err := memory.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	backplanetest.Run(t, func(t *testing.T) backplane.Backplane {
		return newBroker(t, &memory.Options{HistorySize: backplanetest.HistorySize, Registerer: prometheus.NewRegistry()})
	})
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts *memory.Options
		ok   bool
	}{
		{"nil", nil, true},
		{"zero", &memory.Options{}, true},
		{"negative size", &memory.Options{HistorySize: -1}, false},
		{"negative ttl", &memory.Options{HistoryTTL: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := memory.New(tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok %v", err, tt.ok)
			}
			if b != nil {
				b.Close()
			}
		})
	}
}

// run runs b with h in the current bubble or test until the test ends.
func run(t *testing.T, b *memory.Broker, h backplane.Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestNewBrokerNewEpoch(t *testing.T) {
	ctx := t.Context()
	a, b := newBroker(t, nil), newBroker(t, nil)
	ra, _ := a.Publish(ctx, "dev/x", []byte("1"), backplane.PublishOptions{})
	rb, _ := b.Publish(ctx, "dev/x", []byte("1"), backplane.PublishOptions{})
	if ra.Position.Epoch == rb.Position.Epoch {
		t.Fatalf("two brokers gave the same epoch %s", ra.Position.Epoch)
	}
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, nil)
		run(t, b, backplanetest.NewRecorder(t))
		synctest.Wait() // the first Run is blocked waiting for work
		if err := b.Run(t.Context(), backplanetest.NewRecorder(t)); err == nil {
			t.Fatal("second Run returned nil")
		}
	})
}

// blockingHandler blocks in HandlePublication until release is closed.
type blockingHandler struct {
	*backplanetest.Recorder
	entered chan struct{}
	release chan struct{}
}

func (h *blockingHandler) HandlePublication(ch, epoch string, p backplane.Publication) {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	h.Recorder.HandlePublication(ch, epoch, p)
}

// A slow handler never blocks Publish; when it falls behind by more than
// the history size it is told with a reset of the same epoch and then gets
// what is retained, in order.
func TestSlowHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		const size = 8
		b := newBroker(t, &memory.Options{HistorySize: size, Registerer: reg})
		h := &blockingHandler{
			Recorder: backplanetest.NewRecorder(t),
			entered:  make(chan struct{}, 1),
			release:  make(chan struct{}),
		}
		run(t, b, h)
		ctx := t.Context()
		const ch = "dev/slow"
		if err := b.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		pub := func(i int) backplane.PublishResult {
			r, err := b.Publish(ctx, ch, fmt.Appendf(nil, "m%d", i), backplane.PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		epoch := pub(1).Position.Epoch
		<-h.entered // the handler holds offset 1
		// 1 + 10*size publications while the handler is stuck: Publish
		// returns every time (synctest would report a deadlock otherwise).
		const n = 1 + 10*size
		for i := 2; i <= n; i++ {
			pub(i)
		}
		close(h.release)
		synctest.Wait()
		evs := h.Channel(ch)
		want := []string{fmt.Sprintf("pub %s %s/1 \"m1\"", ch, epoch),
			fmt.Sprintf("reset %s %s/%d", ch, epoch, n-size)}
		for off := n - size + 1; off <= n; off++ {
			want = append(want, fmt.Sprintf("pub %s %s/%d \"m%d\"", ch, epoch, off, off))
		}
		if fmt.Sprint(evs) != fmt.Sprint(want) {
			t.Fatalf("events:\n%v\nwant:\n%v", evs, want)
		}
		if got := counter(t, reg, "edgeplane_backplane_delivery_resets_total", "trimmed"); got != 1 {
			t.Fatalf("trimmed resets %v, want 1", got)
		}
	})
}

// An expired history comes back with a new epoch; a subscribed node is
// told with a reset before the new epoch's publications.
func TestHistoryTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Hour
		b := newBroker(t, &memory.Options{HistoryTTL: ttl})
		rec := backplanetest.NewRecorder(t)
		run(t, b, rec)
		ctx := t.Context()
		const ch = "dev/ttl"
		if err := b.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		r1, _ := b.Publish(ctx, ch, []byte("m1"), backplane.PublishOptions{SpoolID: "s", Seq: 1})
		time.Sleep(ttl - time.Second)
		r2, _ := b.Publish(ctx, ch, []byte("m2"), backplane.PublishOptions{SpoolID: "s", Seq: 2}) // refreshes the ttl
		time.Sleep(ttl - time.Second)
		if h, _ := b.History(ctx, ch, backplane.HistoryOptions{Last: 10}); h.Position != r2.Position || len(h.Publications) != 2 {
			t.Fatalf("history before expiry: %+v", h)
		}
		time.Sleep(2 * time.Second)
		h, _ := b.History(ctx, ch, backplane.HistoryOptions{Last: 10})
		if h.Position.Epoch == r1.Position.Epoch || h.Position.Offset != 0 || len(h.Publications) != 0 {
			t.Fatalf("history after expiry: %+v, want empty with a new epoch", h)
		}
		// The dedup state went with the history.
		r3, _ := b.Publish(ctx, ch, []byte("m1"), backplane.PublishOptions{SpoolID: "s", Seq: 2})
		if r3.Duplicate || r3.Position != (backplane.Position{Epoch: h.Position.Epoch, Offset: 1}) {
			t.Fatalf("publish after expiry: %+v", r3)
		}
		synctest.Wait()
		want := []string{
			fmt.Sprintf("pub %s %s/1 \"m1\"", ch, r1.Position.Epoch),
			fmt.Sprintf("pub %s %s/2 \"m2\"", ch, r1.Position.Epoch),
			fmt.Sprintf("reset %s %s/0", ch, r3.Position.Epoch),
			fmt.Sprintf("pub %s %s/1 \"m1\"", ch, r3.Position.Epoch),
		}
		if got := rec.Channel(ch); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events:\n%v\nwant:\n%v", got, want)
		}
	})
}

func TestPresenceExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		b := newBroker(t, &memory.Options{Registerer: reg})
		rec := backplanetest.NewRecorder(t)
		run(t, b, rec)
		ctx := t.Context()
		d := backplane.DeviceState{ID: "pi-1", Online: true, Hub: "hub-a", Region: "eu", LastSeen: time.Now()}
		const ttl = 30 * time.Second
		if err := b.SetDevice(ctx, d, ttl); err != nil {
			t.Fatal(err)
		}
		// Refreshes before the ttl keep it online and are not changes.
		for range 5 {
			time.Sleep(ttl - time.Second)
			d.LastSeen = time.Now()
			if err := b.SetDevice(ctx, d, ttl); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if evs := rec.Presence("pi-1"); len(evs) != 1 || !evs[0].Device.Online {
			t.Fatalf("after refreshes: %v, want one online change", evs)
		}
		start := time.Now()
		time.Sleep(ttl - time.Nanosecond)
		synctest.Wait()
		if got, _, _ := b.Device(ctx, "pi-1"); !got.Online {
			t.Fatal("offline before its ttl")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		evs := rec.Presence("pi-1")
		if len(evs) != 2 || evs[1].Device.Online || evs[1].Device.Hub != "hub-a" {
			t.Fatalf("after the ttl: %v, want an offline change", evs)
		}
		if time.Since(start) != ttl {
			t.Fatalf("expired after %v, want exactly %v", time.Since(start), ttl)
		}
		if got := counter(t, reg, "edgeplane_backplane_presence_expired_total", ""); got != 1 {
			t.Fatalf("expired counter %v", got)
		}
		// A device set offline, or with ttl 0, does not expire.
		if err := b.SetDevice(ctx, backplane.DeviceState{ID: "pi-2", Online: true}, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(24 * time.Hour)
		if got, _, _ := b.Device(ctx, "pi-2"); !got.Online {
			t.Fatal("ttl 0 expired")
		}
	})
}

func TestPresenceChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, nil)
		rec := backplanetest.NewRecorder(t)
		run(t, b, rec)
		ctx := t.Context()
		base := backplane.DeviceState{ID: "pi-1", Online: true, Hub: "hub-a", Labels: map[string]string{"a": "1"}}
		moved := base
		moved.Hub = "hub-b"
		relabeled := moved
		relabeled.Labels = map[string]string{"a": "2"}
		steps := []struct {
			d          backplane.DeviceState
			wantChange bool
		}{
			{base, true},
			{base, false},
			{moved, true},
			{relabeled, true},
			{relabeled, false},
		}
		for i, st := range steps {
			before := len(rec.Presence("pi-1"))
			if err := b.SetDevice(ctx, st.d, time.Minute); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if changed := len(rec.Presence("pi-1")) > before; changed != st.wantChange {
				t.Fatalf("step %d: change delivered %v, want %v", i, changed, st.wantChange)
			}
		}
		// The broker keeps its own copy of the labels.
		relabeled.Labels["a"] = "mutated"
		if got, _, _ := b.Device(ctx, "pi-1"); got.Labels["a"] != "2" {
			t.Fatalf("labels aliased: %v", got.Labels)
		}
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := newBroker(t, &memory.Options{Registerer: reg})
	ctx := t.Context()
	b.Publish(ctx, "dev/m", []byte("x"), backplane.PublishOptions{SpoolID: "s", Seq: 1})
	b.Publish(ctx, "dev/m", []byte("x"), backplane.PublishOptions{SpoolID: "s", Seq: 1})
	if got := counter(t, reg, "edgeplane_backplane_publications_total", "stored"); got != 1 {
		t.Fatalf("stored %v", got)
	}
	if got := counter(t, reg, "edgeplane_backplane_publications_total", "duplicate"); got != 1 {
		t.Fatalf("duplicate %v", got)
	}
	problems, err := promlint.NewWithMetricFamilies(gather(t, reg)).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
}

type hubRecorder struct {
	*backplanetest.Recorder
	msgs []string
}

func (h *hubRecorder) HandleHubMessage(data []byte) { h.msgs = append(h.msgs, string(data)) }

func TestSendToHub(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, &memory.Options{HubID: "hub-a"})
		h := &hubRecorder{Recorder: backplanetest.NewRecorder(t)}
		run(t, b, h)
		ctx := t.Context()
		msg := []byte("cmd 1")
		if err := b.SendToHub(ctx, "hub-a", msg); err != nil {
			t.Fatal(err)
		}
		copy(msg, "xxx")
		if err := b.SendToHub(ctx, "hub-b", []byte("x")); !errors.Is(err, backplane.ErrNoHub) {
			t.Fatalf("other hub: %v, want ErrNoHub", err)
		}
		synctest.Wait()
		if fmt.Sprint(h.msgs) != "[cmd 1]" {
			t.Fatalf("got %q", h.msgs)
		}
	})
}

func TestHubRegistry(t *testing.T) {
	backplanetest.RunHubRegistry(t, func(t *testing.T) backplane.HubRegistry { return newBroker(t, nil) })
}

func TestCursors(t *testing.T) {
	backplanetest.RunCursors(t, func(t *testing.T) backplane.Cursors { return newBroker(t, nil) })
}
