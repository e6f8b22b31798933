package backplanetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// HistorySize is the history size the factory given to Run must configure.
const HistorySize = 16

// PresenceExpiryBound is how long after an entry's ttl the suite waits for
// its expiry to be delivered.
const PresenceExpiryBound = 5 * time.Second

// waitTimeout bounds every wait for a delivery.
const waitTimeout = 10 * time.Second

// Run runs the conformance suite. newBackplane returns a new, empty
// backplane for one subtest (unique key prefix, or a new server) with a
// history size of HistorySize and a history ttl of at least a minute; the
// suite runs it, and closes it at the end of the subtest.
//
// The suite checks what hubd relies on: offsets contiguous from 1 in one
// epoch, position 0 of an empty channel, dedup by spool id and seq, history
// by Last and Since with all-or-nothing recovery, trimming at the history
// size, delivery in offset order without duplicates, Unsubscribe, and
// presence with expiry and change delivery.
func Run(t *testing.T, newBackplane func(t *testing.T) backplane.Backplane) {
	s := &suite{newBackplane: newBackplane}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"EmptyChannel", s.emptyChannel},
		{"OffsetsContiguous", s.offsetsContiguous},
		{"Dedup", s.dedup},
		{"PublishBatch", s.publishBatch},
		{"PublishBatchLarge", s.publishBatchLarge},
		{"HistoryLast", s.historyLast},
		{"HistorySince", s.historySince},
		{"Trimming", s.trimming},
		{"DataIsCopied", s.dataIsCopied},
		{"DeliveryOrder", s.deliveryOrder},
		{"ConcurrentPublishers", s.concurrentPublishers},
		{"SubscribeBeforeRun", s.subscribeBeforeRun},
		{"OnlySubscribedChannels", s.onlySubscribed},
		{"Unsubscribe", s.unsubscribe},
		{"Presence", s.presence},
		{"PresenceExpiry", s.presenceExpiry},
		{"Closed", s.closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

type suite struct {
	newBackplane func(t *testing.T) backplane.Backplane
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// start returns a new backplane running with a Recorder.
func (s *suite) start(t *testing.T) (backplane.Backplane, *Recorder) {
	t.Helper()
	bp := s.newBackplane(t)
	rec := NewRecorder(t)
	s.run(t, bp, rec)
	return bp, rec
}

// run runs bp with h until the end of the test, then closes it and checks
// that Run returned.
func (s *suite) run(t *testing.T, bp backplane.Backplane, h backplane.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bp.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := bp.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, backplane.ErrClosed) {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return %v after cancel and Close", waitTimeout)
		}
	})
}

func publish(t *testing.T, bp backplane.Broker, ch, data string, opts backplane.PublishOptions) backplane.PublishResult {
	t.Helper()
	res, err := bp.Publish(ctxT(t), ch, []byte(data), opts)
	if err != nil {
		t.Fatalf("Publish(%s, %q, %+v): %v", ch, data, opts, err)
	}
	return res
}

func history(t *testing.T, bp backplane.Broker, ch string, opts backplane.HistoryOptions) backplane.HistoryResult {
	t.Helper()
	res, err := bp.History(ctxT(t), ch, opts)
	if err != nil {
		t.Fatalf("History(%s, %+v): %v", ch, opts, err)
	}
	return res
}

func subscribe(t *testing.T, bp backplane.Broker, ch string) {
	t.Helper()
	if err := bp.Subscribe(ctxT(t), ch); err != nil {
		t.Fatalf("Subscribe(%s): %v", ch, err)
	}
}

// checkPubs checks that pubs have offsets from..to and data "m<offset>".
func checkPubs(t *testing.T, what string, pubs []backplane.Publication, from, to uint64) {
	t.Helper()
	if want := int(to - from + 1); to < from && len(pubs) != 0 || to >= from && len(pubs) != want {
		t.Fatalf("%s: %d publications, want offsets %d..%d: %v", what, len(pubs), from, to, pubs)
	}
	for i, p := range pubs {
		off := from + uint64(i)
		if p.Offset != off || string(p.Data) != fmt.Sprintf("m%d", off) {
			t.Fatalf("%s: publication %d is %d %q, want %d %q", what, i, p.Offset, p.Data, off, fmt.Sprintf("m%d", off))
		}
	}
}

// publishN publishes "m<offset>" n times, checking the offsets, and returns
// the epoch.
func publishN(t *testing.T, bp backplane.Broker, ch string, n int) string {
	t.Helper()
	var epoch string
	for range n {
		before := history(t, bp, ch, backplane.HistoryOptions{}).Position
		res := publish(t, bp, ch, fmt.Sprintf("m%d", before.Offset+1), backplane.PublishOptions{})
		if res.Position.Offset != before.Offset+1 || res.Duplicate {
			t.Fatalf("Publish returned %+v after position %+v", res, before)
		}
		epoch = res.Position.Epoch
	}
	return epoch
}

func (s *suite) emptyChannel(t *testing.T) {
	bp, _ := s.start(t)
	for _, opts := range []backplane.HistoryOptions{{}, {Last: 10}} {
		res := history(t, bp, "dev/empty", opts)
		if res.Position.Offset != 0 || res.Position.Epoch == "" || len(res.Publications) != 0 {
			t.Fatalf("History of an empty channel (%+v) = %+v, want offset 0, an epoch, nothing", opts, res)
		}
	}
	a := history(t, bp, "dev/empty", backplane.HistoryOptions{}).Position
	b := history(t, bp, "dev/empty", backplane.HistoryOptions{}).Position
	if a != b {
		t.Fatalf("empty channel position changed between reads: %+v then %+v", a, b)
	}
	res := publish(t, bp, "dev/empty", "m1", backplane.PublishOptions{})
	if res.Position != (backplane.Position{Epoch: a.Epoch, Offset: 1}) {
		t.Fatalf("first publication at %+v, want offset 1 in epoch %s", res.Position, a.Epoch)
	}
}

func (s *suite) offsetsContiguous(t *testing.T) {
	bp, _ := s.start(t)
	var epoch string
	for i := uint64(1); i <= 5; i++ {
		res := publish(t, bp, "dev/a", fmt.Sprintf("m%d", i), backplane.PublishOptions{})
		if res.Duplicate || res.Position.Offset != i || res.Position.Epoch == "" {
			t.Fatalf("publication %d: %+v", i, res)
		}
		if epoch == "" {
			epoch = res.Position.Epoch
		} else if res.Position.Epoch != epoch {
			t.Fatalf("epoch changed from %s to %s", epoch, res.Position.Epoch)
		}
	}
	// Channels are independent.
	if res := publish(t, bp, "dev/b", "m1", backplane.PublishOptions{}); res.Position.Offset != 1 {
		t.Fatalf("other channel starts at %+v", res.Position)
	}
	h := history(t, bp, "dev/a", backplane.HistoryOptions{Last: 5})
	checkPubs(t, "history", h.Publications, 1, 5)
	if h.Position != (backplane.Position{Epoch: epoch, Offset: 5}) {
		t.Fatalf("position %+v", h.Position)
	}
}

func (s *suite) dedup(t *testing.T) {
	bp, rec := s.start(t)
	const ch = "dev/dedup"
	subscribe(t, bp, ch)
	steps := []struct {
		spool   string
		seq     uint64
		wantOff uint64
		wantDup bool
	}{
		{"A", 1, 1, false},
		{"A", 2, 2, false},
		{"A", 3, 3, false},
		{"A", 2, 3, true},  // replay of an older frame
		{"A", 3, 3, true},  // resend of the last frame
		{"A", 7, 4, false}, // a seq that jumps forward is accepted
		{"A", 5, 4, true},
		{"B", 1, 5, false}, // a new spool starts again at 1
		{"B", 1, 5, true},
		{"A", 8, 6, false}, // B replaced A: A's state is gone
		{"", 0, 7, false},  // no dedup
		{"", 0, 8, false},
		{"A", 8, 8, true}, // an empty spool id leaves the dedup state alone
	}
	var stored []string
	for i, st := range steps {
		data := fmt.Sprintf("%s-%d-%d", st.spool, st.seq, i)
		res := publish(t, bp, ch, data, backplane.PublishOptions{SpoolID: st.spool, Seq: st.seq})
		if res.Duplicate != st.wantDup || res.Position.Offset != st.wantOff {
			t.Fatalf("step %d (%s seq %d): %+v, want offset %d duplicate %v", i, st.spool, st.seq, res, st.wantOff, st.wantDup)
		}
		if !st.wantDup {
			stored = append(stored, data)
		}
	}
	h := history(t, bp, ch, backplane.HistoryOptions{Last: 100})
	if len(h.Publications) != len(stored) {
		t.Fatalf("history has %d publications, want %d", len(h.Publications), len(stored))
	}
	for i, p := range h.Publications {
		if string(p.Data) != stored[i] || p.Offset != uint64(i+1) {
			t.Fatalf("history[%d] = %d %q, want %d %q", i, p.Offset, p.Data, i+1, stored[i])
		}
	}
	// Duplicates are not delivered: a marker after them arrives next.
	marker := publish(t, bp, ch, "marker", backplane.PublishOptions{})
	evs := rec.Wait(t, waitTimeout, "marker", func(evs []Event) bool {
		for _, e := range evs {
			if e.Channel == ch && string(e.Publication.Data) == "marker" {
				return true
			}
		}
		return false
	})
	var got []string
	for _, e := range evs {
		if e.Channel == ch && e.Kind == EventPublication {
			got = append(got, string(e.Publication.Data))
		}
	}
	want := append(stored, "marker")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %q, want %q (marker at %+v)", got, want, marker.Position)
	}
}

// PublishBatch is that many Publish calls in a row: dedup against earlier
// publications and within the batch, contiguous offsets, delivery in order.
func (s *suite) publishBatch(t *testing.T) {
	bp, rec := s.start(t)
	const ch = "dev/batch"
	subscribe(t, bp, ch)
	for seq := uint64(1); seq <= 3; seq++ {
		publish(t, bp, ch, fmt.Sprintf("m%d", seq), backplane.PublishOptions{SpoolID: "A", Seq: seq})
	}
	steps := []struct {
		data    string
		spool   string
		seq     uint64
		wantOff uint64
		wantDup bool
	}{
		{"x", "A", 2, 3, true}, // stored before the batch
		{"m4", "A", 4, 4, false},
		{"m5", "A", 5, 5, false},
		{"x", "A", 5, 5, true}, // twice in the batch
		{"m6", "A", 9, 6, false},
		{"m7", "", 0, 7, false},
		{"x", "A", 9, 7, true},
	}
	msgs := make([]backplane.Message, len(steps))
	for i, st := range steps {
		msgs[i] = backplane.Message{Data: []byte(st.data), Opts: backplane.PublishOptions{SpoolID: st.spool, Seq: st.seq}}
	}
	res, err := bp.PublishBatch(ctxT(t), ch, msgs)
	if err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}
	if len(res) != len(steps) {
		t.Fatalf("%d results for %d messages", len(res), len(steps))
	}
	epoch := res[0].Position.Epoch
	for i, st := range steps {
		if r := res[i]; r.Duplicate != st.wantDup || r.Position.Offset != st.wantOff || r.Position.Epoch != epoch {
			t.Errorf("message %d (%s seq %d): %+v, want offset %d duplicate %v in epoch %s", i, st.spool, st.seq, r, st.wantOff, st.wantDup, epoch)
		}
	}
	checkPubs(t, "history", history(t, bp, ch, backplane.HistoryOptions{Last: 100}).Publications, 1, 7)
	rec.WaitChannel(t, waitTimeout, ch, 7)
	checkDelivered(t, rec.Channel(ch), epoch, 1, 7)
	if res, err := bp.PublishBatch(ctxT(t), ch, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty PublishBatch: %v, %v", res, err)
	}
}

// A batch larger than any broker's pipeline keeps its order and offsets.
func (s *suite) publishBatchLarge(t *testing.T) {
	bp, _ := s.start(t)
	const ch, n = "dev/batch-large", 1500
	msgs := make([]backplane.Message, n)
	for i := range msgs {
		msgs[i] = backplane.Message{Data: fmt.Appendf(nil, "m%d", i+1), Opts: backplane.PublishOptions{SpoolID: "A", Seq: uint64(i + 1)}}
	}
	res, err := bp.PublishBatch(ctxT(t), ch, msgs)
	if err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}
	if len(res) != n {
		t.Fatalf("%d results for %d messages", len(res), n)
	}
	for i, r := range res {
		if r.Duplicate || r.Position.Offset != uint64(i+1) {
			t.Fatalf("message %d: %+v, want offset %d", i, r, i+1)
		}
	}
	h := history(t, bp, ch, backplane.HistoryOptions{Last: HistorySize})
	checkPubs(t, "history", h.Publications, n-HistorySize+1, n)
}

func (s *suite) historyLast(t *testing.T) {
	bp, _ := s.start(t)
	const ch = "dev/last"
	epoch := publishN(t, bp, ch, 5)
	tests := []struct {
		last     int
		from, to uint64
	}{
		{0, 1, 0},
		{1, 5, 5},
		{3, 3, 5},
		{5, 1, 5},
		{100, 1, 5},
	}
	for _, tt := range tests {
		res := history(t, bp, ch, backplane.HistoryOptions{Last: tt.last})
		checkPubs(t, fmt.Sprintf("Last %d", tt.last), res.Publications, tt.from, tt.to)
		if res.Position != (backplane.Position{Epoch: epoch, Offset: 5}) || res.Recovered {
			t.Fatalf("Last %d: position %+v recovered %v", tt.last, res.Position, res.Recovered)
		}
	}
}

func (s *suite) historySince(t *testing.T) {
	bp, _ := s.start(t)
	const ch = "dev/since"
	epoch := publishN(t, bp, ch, 5)
	tests := []struct {
		name      string
		since     backplane.Position
		last      int
		recovered bool
		from, to  uint64
	}{
		{"middle", backplane.Position{Epoch: epoch, Offset: 2}, 0, true, 3, 5},
		{"from start", backplane.Position{Epoch: epoch, Offset: 0}, 0, true, 1, 5},
		{"up to date", backplane.Position{Epoch: epoch, Offset: 5}, 0, true, 1, 0},
		{"since wins over last", backplane.Position{Epoch: epoch, Offset: 4}, 1, true, 5, 5},
		{"other epoch", backplane.Position{Epoch: "other", Offset: 2}, 0, false, 1, 0},
		{"other epoch wins over last", backplane.Position{Epoch: "other", Offset: 2}, 3, false, 1, 0},
		{"beyond top", backplane.Position{Epoch: epoch, Offset: 9}, 0, false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			since := tt.since
			res := history(t, bp, ch, backplane.HistoryOptions{Since: &since, Last: tt.last})
			if res.Recovered != tt.recovered {
				t.Fatalf("recovered %v, want %v", res.Recovered, tt.recovered)
			}
			checkPubs(t, "since", res.Publications, tt.from, tt.to)
			if res.Position != (backplane.Position{Epoch: epoch, Offset: 5}) {
				t.Fatalf("position %+v", res.Position)
			}
		})
	}
}

func (s *suite) trimming(t *testing.T) {
	bp, _ := s.start(t)
	const ch = "dev/trim"
	const n = 3*HistorySize + 5
	epoch := publishN(t, bp, ch, n)
	res := history(t, bp, ch, backplane.HistoryOptions{Last: 10 * HistorySize})
	checkPubs(t, "Last after trimming", res.Publications, n-HistorySize+1, n)
	oldest := backplane.Position{Epoch: epoch, Offset: n - HistorySize}
	res = history(t, bp, ch, backplane.HistoryOptions{Since: &oldest})
	if !res.Recovered {
		t.Fatalf("since %+v (every later one is kept): not recovered", oldest)
	}
	checkPubs(t, "since the oldest kept", res.Publications, n-HistorySize+1, n)
	for _, off := range []uint64{0, 1, n - HistorySize - 1} {
		since := backplane.Position{Epoch: epoch, Offset: off}
		res = history(t, bp, ch, backplane.HistoryOptions{Since: &since})
		if res.Recovered || len(res.Publications) != 0 {
			t.Fatalf("since trimmed offset %d: recovered %v with %d publications, want false and none",
				off, res.Recovered, len(res.Publications))
		}
	}
}

func (s *suite) dataIsCopied(t *testing.T) {
	bp, _ := s.start(t)
	buf := []byte("m1")
	if _, err := bp.Publish(ctxT(t), "dev/copy", buf, backplane.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "xx")
	res := history(t, bp, "dev/copy", backplane.HistoryOptions{Last: 1})
	checkPubs(t, "after the caller reused its buffer", res.Publications, 1, 1)
}

// checkDelivered checks that evs are publications from..to of epoch with
// data "m<offset>".
func checkDelivered(t *testing.T, evs []Event, epoch string, from, to uint64) {
	t.Helper()
	pubs := make([]backplane.Publication, 0, len(evs))
	for _, e := range evs {
		if e.Kind != EventPublication || e.Epoch != epoch {
			t.Fatalf("unexpected event %v (want publications of epoch %s)\n%s", e, epoch, dump(evs))
		}
		pubs = append(pubs, e.Publication)
	}
	checkPubs(t, "delivered", pubs, from, to)
}

// The history holds only HistorySize publications, and a node that falls
// further behind is told with a reset instead of the publications it missed
// (see Handler.HandleReset). The delivery tests therefore publish in rounds
// of at most HistorySize publications and wait for each round.

func (s *suite) deliveryOrder(t *testing.T) {
	bp, rec := s.start(t)
	const ch = "dev/order"
	publishN(t, bp, ch, 3) // before Subscribe: not delivered
	subscribe(t, bp, ch)
	subscribe(t, bp, ch) // idempotent
	const rounds = 10
	var epoch string
	off := uint64(3)
	for range rounds {
		for range HistorySize {
			off++
			epoch = publish(t, bp, ch, fmt.Sprintf("m%d", off), backplane.PublishOptions{}).Position.Epoch
		}
		rec.WaitChannel(t, waitTimeout, ch, int(off-3))
	}
	checkDelivered(t, rec.Channel(ch), epoch, 4, off)
}

func (s *suite) concurrentPublishers(t *testing.T) {
	bp, rec := s.start(t)
	const ch = "dev/concurrent"
	subscribe(t, bp, ch)
	const writers, rounds = 4, 10
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for range HistorySize / writers {
					if _, err := bp.Publish(context.Background(), ch, fmt.Appendf(nil, "w%d", w), backplane.PublishOptions{}); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rec.WaitChannel(t, waitTimeout, ch, (r+1)*HistorySize/writers*writers)
	}
	evs := rec.Channel(ch)
	for i, e := range evs {
		if e.Kind != EventPublication || e.Publication.Offset != uint64(i+1) {
			t.Fatalf("delivery %d is %v, want offset %d\n%s", i, e, i+1, dump(evs))
		}
	}
	const total = rounds * HistorySize / writers * writers
	if len(evs) != total {
		t.Fatalf("%d deliveries, want %d", len(evs), total)
	}
	if h := history(t, bp, ch, backplane.HistoryOptions{}); h.Position.Offset != total {
		t.Fatalf("top offset %d, want %d", h.Position.Offset, total)
	}
}

func (s *suite) subscribeBeforeRun(t *testing.T) {
	bp := s.newBackplane(t)
	const ch = "dev/early"
	subscribe(t, bp, ch)
	rec := NewRecorder(t)
	s.run(t, bp, rec)
	epoch := publishN(t, bp, ch, 3)
	checkDelivered(t, rec.WaitChannel(t, waitTimeout, ch, 3), epoch, 1, 3)
}

func (s *suite) onlySubscribed(t *testing.T) {
	bp, rec := s.start(t)
	subscribe(t, bp, "dev/x")
	publishN(t, bp, "dev/y", 2)
	epoch := publishN(t, bp, "dev/x", 2)
	checkDelivered(t, rec.WaitChannel(t, waitTimeout, "dev/x", 2), epoch, 1, 2)
	if evs := rec.Channel("dev/y"); len(evs) != 0 {
		t.Fatalf("delivered on an unsubscribed channel: %v", evs)
	}
}

func (s *suite) unsubscribe(t *testing.T) {
	bp, rec := s.start(t)
	const ch = "dev/unsub"
	subscribe(t, bp, ch)
	epoch := publishN(t, bp, ch, 1)
	rec.WaitChannel(t, waitTimeout, ch, 1)
	if err := bp.Unsubscribe(ctxT(t), ch); err != nil {
		t.Fatal(err)
	}
	if err := bp.Unsubscribe(ctxT(t), ch); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	if err := bp.Unsubscribe(ctxT(t), "dev/never"); err != nil {
		t.Fatalf("Unsubscribe of a channel never subscribed: %v", err)
	}
	publishN(t, bp, ch, 2) // offsets 2, 3: not delivered
	// Subscribe again: delivery goes on from the top at that moment, so the
	// next delivery is offset 4, and 2 and 3 were never delivered (they
	// would have come before it).
	subscribe(t, bp, ch)
	publishN(t, bp, ch, 1)
	evs := rec.WaitChannel(t, waitTimeout, ch, 2)
	checkDelivered(t, evs[:1], epoch, 1, 1)
	if e := evs[1]; e.Kind != EventPublication || e.Publication.Offset != 4 {
		t.Fatalf("after Unsubscribe and Subscribe the next delivery is %v, want offset 4\n%s", e, dump(evs))
	}
}

func device(id string, online bool) backplane.DeviceState {
	return backplane.DeviceState{
		ID:           id,
		Online:       online,
		Hub:          "hub-a",
		Region:       "eu",
		Labels:       map[string]string{"site": "berlin"},
		Sensors:      []frame.SensorInfo{{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01}},
		AgentVersion: "1.2.3",
		LastSeen:     time.UnixMilli(1733318400123).UTC(),
	}
}

// sameState compares the fields the suite sets (LastSeen to the
// millisecond; backends may store less precision).
func sameState(a, b backplane.DeviceState) bool {
	return a.ID == b.ID && a.Online == b.Online && a.Hub == b.Hub && a.Region == b.Region &&
		a.AgentVersion == b.AgentVersion && fmt.Sprint(a.Labels) == fmt.Sprint(b.Labels) &&
		fmt.Sprint(a.Sensors) == fmt.Sprint(b.Sensors) && a.LastSeen.UnixMilli() == b.LastSeen.UnixMilli()
}

func waitPresence(t *testing.T, rec *Recorder, timeout time.Duration, want backplane.DeviceState) {
	t.Helper()
	rec.Wait(t, timeout, fmt.Sprintf("presence %s online=%v", want.ID, want.Online), func(evs []Event) bool {
		for _, e := range evs {
			if e.Kind == EventPresence && sameState(e.Device, want) {
				return true
			}
		}
		return false
	})
}

// presenceReady waits until presence changes reach rec: a backend
// connects its notifications in Run, and changes made before that are not
// delivered (the Devices list is the initial state).
func presenceReady(t *testing.T, bp backplane.Backplane, rec *Recorder) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; ; i++ {
		d := backplane.DeviceState{ID: "warm-up", Labels: map[string]string{"try": fmt.Sprint(i)}}
		if err := bp.SetDevice(ctx, d, 0); err != nil {
			t.Fatal(err)
		}
		_, ok := rec.WaitFor(100*time.Millisecond, func(evs []Event) bool {
			return slices.ContainsFunc(evs, func(e Event) bool {
				return e.Kind == EventPresence && e.Device.ID == "warm-up" && e.Device.Labels["try"] == fmt.Sprint(i)
			})
		})
		if ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("presence changes never delivered")
		}
	}
}

func (s *suite) presence(t *testing.T) {
	bp, rec := s.start(t)
	presenceReady(t, bp, rec)
	ctx := ctxT(t)
	if _, ok, err := bp.Device(ctx, "pi-1"); err != nil || ok {
		t.Fatalf("unknown device: ok %v err %v", ok, err)
	}
	on := device("pi-1", true)
	if err := bp.SetDevice(ctx, on, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := bp.SetDevice(ctx, device("pi-2", false), time.Minute); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, rec, waitTimeout, on)
	d, ok, err := bp.Device(ctx, "pi-1")
	if err != nil || !ok || !sameState(d, on) {
		t.Fatalf("Device(pi-1) = %+v %v %v, want %+v", d, ok, err, on)
	}
	ds, err := bp.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 || !slices.ContainsFunc(ds, func(d backplane.DeviceState) bool { return sameState(d, on) }) {
		t.Fatalf("Devices = %+v", ds)
	}
	off := on
	off.Online = false
	if err := bp.SetDevice(ctx, off, time.Minute); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, rec, waitTimeout, off)
	if d, ok, err := bp.Device(ctx, "pi-1"); err != nil || !ok || d.Online {
		t.Fatalf("after going offline: %+v %v %v", d, ok, err)
	}
}

func (s *suite) presenceExpiry(t *testing.T) {
	bp, rec := s.start(t)
	presenceReady(t, bp, rec)
	ctx := ctxT(t)
	on := device("pi-exp", true)
	const ttl = 300 * time.Millisecond
	if err := bp.SetDevice(ctx, on, ttl); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, rec, waitTimeout, on)
	off := on
	off.Online = false
	waitPresence(t, rec, ttl+PresenceExpiryBound, off)
	d, ok, err := bp.Device(ctx, "pi-exp")
	if err != nil || !ok || d.Online {
		t.Fatalf("after expiry: %+v %v %v, want known and offline", d, ok, err)
	}
}

func (s *suite) closed(t *testing.T) {
	bp := s.newBackplane(t)
	if err := bp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bp.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxT(t)
	if _, err := bp.Publish(ctx, "dev/c", []byte("x"), backplane.PublishOptions{}); !errors.Is(err, backplane.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := bp.PublishBatch(ctx, "dev/c", []backplane.Message{{Data: []byte("x")}}); !errors.Is(err, backplane.ErrClosed) {
		t.Fatalf("PublishBatch after Close: %v, want ErrClosed", err)
	}
	if _, err := bp.History(ctx, "dev/c", backplane.HistoryOptions{}); !errors.Is(err, backplane.ErrClosed) {
		t.Fatalf("History after Close: %v, want ErrClosed", err)
	}
	if err := bp.Subscribe(ctx, "dev/c"); !errors.Is(err, backplane.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if err := bp.Run(ctx, NewRecorder(t)); !errors.Is(err, backplane.ErrClosed) && err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
}

// RunHubRegistry checks a backplane.HubRegistry: register, list, refresh,
// expiry and unregister. newRegistry returns a new, empty one.
func RunHubRegistry(t *testing.T, newRegistry func(t *testing.T) backplane.HubRegistry) {
	r := newRegistry(t)
	ctx := ctxT(t)
	ids := func() []string {
		hs, err := r.Hubs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hs {
			out = append(out, h.ID+"@"+h.Addr)
		}
		return out
	}
	if got := ids(); len(got) != 0 {
		t.Fatalf("new registry lists %v", got)
	}
	const short = 300 * time.Millisecond
	for _, h := range []backplane.HubInfo{{ID: "hub-b", Region: "eu", Addr: "b:1"}, {ID: "hub-a", Region: "eu", Addr: "a:1"}} {
		if err := r.RegisterHub(ctx, h, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.RegisterHub(ctx, backplane.HubInfo{ID: "hub-c", Addr: "c:1"}, short); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids()); got != "[hub-a@a:1 hub-b@b:1 hub-c@c:1]" {
		t.Fatalf("Hubs = %s", got)
	}
	// Registering again refreshes and updates.
	if err := r.RegisterHub(ctx, backplane.HubInfo{ID: "hub-a", Addr: "a:2"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.UnregisterHub(ctx, "hub-b"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(short + PresenceExpiryBound)
	for fmt.Sprint(ids()) != "[hub-a@a:2]" {
		if time.Now().After(deadline) {
			t.Fatalf("after unregister and expiry: %v", ids())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RunCursors checks a backplane.Cursors: unknown names, set, replace, and
// independent names. newCursors returns a new, empty one.
func RunCursors(t *testing.T, newCursors func(t *testing.T) backplane.Cursors) {
	c := newCursors(t)
	ctx := ctxT(t)
	if _, ok, err := c.GetCursor(ctx, "export/dev/a"); err != nil || ok {
		t.Fatalf("unknown cursor: ok %v err %v", ok, err)
	}
	steps := []struct {
		name string
		pos  backplane.Position
	}{
		{"export/dev/a", backplane.Position{Epoch: "e1", Offset: 5}},
		{"export/dev/b", backplane.Position{Epoch: "e2", Offset: 0}},
		{"export/dev/a", backplane.Position{Epoch: "e1", Offset: 1 << 40}},
	}
	for _, st := range steps {
		if err := c.SetCursor(ctx, st.name, st.pos); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.GetCursor(ctx, st.name)
		if err != nil || !ok || got != st.pos {
			t.Fatalf("GetCursor(%s) = %+v %v %v, want %+v", st.name, got, ok, err, st.pos)
		}
	}
	if got, _, _ := c.GetCursor(ctx, "export/dev/b"); got != steps[1].pos {
		t.Fatalf("export/dev/b = %+v after setting another name", got)
	}
}
