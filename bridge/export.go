package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// exportSpec is an ExportConfig with its templates parsed.
type exportSpec struct {
	cfg          *ExportConfig
	topic        template
	metaTopic    template
	availability template
	devices      map[string]bool
}

func newExportSpec(c *ExportConfig) (*exportSpec, error) {
	s := &exportSpec{cfg: c, devices: map[string]bool{}}
	var err error
	if s.topic, err = parseTemplate(c.Topic); err != nil {
		return nil, err
	}
	if s.metaTopic, err = parseTemplate(c.MetaTopic); err != nil {
		return nil, err
	}
	if s.availability, err = parseTemplate(c.AvailabilityTopic); err != nil {
		return nil, err
	}
	for _, d := range c.Devices {
		s.devices[d] = true
	}
	return s, nil
}

// selects reports whether the export takes device d: listed by id, or with
// every label of one select block; with neither, every device.
func (s *exportSpec) selects(d backplane.DeviceState) bool {
	if len(s.cfg.Devices) == 0 && len(s.cfg.Selects) == 0 {
		return true
	}
	if s.devices[d.ID] {
		return true
	}
outer:
	for _, sel := range s.cfg.Selects {
		for k, v := range sel.Labels {
			if d.Labels[k] != v {
				continue outer
			}
		}
		return true
	}
	return false
}

// resetReplay is how many of the newest publications an export reads when
// its cursor cannot be resumed and the channel's oldest ones are trimmed.
const resetReplay = 100000

// chanWorker exports one device channel for one export. It is driven by the
// channel's history, never by an in-memory queue: it reads what follows its
// cursor, publishes it with QoS 1, and moves the cursor only over what the
// broker acknowledged (PUBACK). The cursor is stored in the backplane, so a
// restart or a broker outage resumes from it; what was sent but not
// acknowledged is sent again, and the importing side drops it by seq.
type chanWorker struct {
	b       *Bridge
	e       *exportSpec
	device  string
	ch      string
	name    string // cursor name
	log     hclog.Logger
	wake    chan struct{} // cap 1
	lag     atomic.Uint64 // frames after the cursor
	topSeen atomic.Uint64 // the channel's top at the last read

	subscribed bool // to the channel's notifications
	cur        backplane.Position
	have       bool // cur is valid (loaded or initialised)
	dirty      bool // cur differs from the stored cursor
	lastSaved  time.Time
}

func newChanWorker(b *Bridge, e *exportSpec, device string) *chanWorker {
	ch := frame.DeviceChannel(device)
	return &chanWorker{
		b:      b,
		e:      e,
		device: device,
		ch:     ch,
		name:   b.cfg.ID + "/" + e.cfg.Name + "/" + ch,
		log:    b.log.Named("export").With("export", e.cfg.Name, "device", device),
		wake:   make(chan struct{}, 1),
	}
}

func (w *chanWorker) run(ctx context.Context) {
	defer w.saveAtExit()
	poll := time.NewTicker(w.b.cfg.pollInterval)
	defer poll.Stop()
	for attempt := 0; ctx.Err() == nil; {
		err := w.pass(ctx)
		if err == nil {
			attempt = 0
			select {
			case <-ctx.Done():
			case <-w.wake:
			case <-poll.C:
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		attempt++
		if errors.Is(err, autopaho.ConnectionDownError) {
			// Wait for the broker; then resend from the cursor at once.
			if cm := w.b.conn(); cm != nil {
				_ = cm.AwaitConnection(ctx)
			}
			continue
		}
		if attempt == 1 || attempt%50 == 0 {
			w.log.Warn("export failed; retrying from the cursor", "error", err, "attempt", attempt, "cursor", w.cur.Offset)
		}
		sleep(ctx, backoff(50*time.Millisecond, 5*time.Second)(attempt))
	}
}

// pass exports everything after the cursor, until the channel is caught up.
func (w *chanWorker) pass(ctx context.Context) error {
	if !w.subscribed {
		if err := w.b.bp.Subscribe(ctx, w.ch); err != nil {
			return fmt.Errorf("bridge: export %s: subscribe: %w", w.ch, err)
		}
		w.subscribed = true
	}
	if !w.have {
		if err := w.load(ctx); err != nil {
			return err
		}
	}
	for {
		pubs, err := w.read(ctx)
		if err != nil {
			return err
		}
		if len(pubs) == 0 {
			return w.save(ctx, true)
		}
		d, known, err := w.b.device(ctx, w.device)
		if err != nil {
			return fmt.Errorf("bridge: export %s: presence: %w", w.ch, err)
		}
		if known && w.b.foreign(d) {
			// Imported from another region: never sent back out. The cursor
			// moves on so that nothing of it is exported later either.
			w.b.m.dropped[dropForeign].Add(float64(len(pubs)))
			w.advance(pubs[len(pubs)-1].Offset)
			continue
		}
		for len(pubs) > 0 {
			n, err := w.send(ctx, pubs, d.Sensors)
			if err != nil {
				return err
			}
			w.advance(pubs[n-1].Offset)
			pubs = pubs[n:]
			if err := w.save(ctx, false); err != nil {
				return err
			}
		}
	}
}

func (w *chanWorker) advance(off uint64) {
	w.cur.Offset = off
	w.dirty = true
	if top := w.topSeen.Load(); top > off {
		w.lag.Store(top - off)
	} else {
		w.lag.Store(0)
	}
}

// load reads the stored cursor, or places a new one at the channel's start
// (start = "oldest") or top ("newest").
func (w *chanWorker) load(ctx context.Context) error {
	pos, ok, err := w.b.cursors.GetCursor(ctx, w.name)
	if err != nil {
		return fmt.Errorf("bridge: export %s: load cursor: %w", w.ch, err)
	}
	if ok {
		w.cur, w.have = pos, true
		w.log.Debug("resuming from the stored cursor", "epoch", pos.Epoch, "offset", pos.Offset)
		return nil
	}
	res, err := w.b.bp.History(ctx, w.ch, backplane.HistoryOptions{})
	if err != nil {
		return fmt.Errorf("bridge: export %s: history: %w", w.ch, err)
	}
	w.cur = backplane.Position{Epoch: res.Position.Epoch}
	if w.e.cfg.Start == "newest" {
		w.cur = res.Position
	}
	w.have, w.dirty = true, true
	return nil
}

// read returns the publications after the cursor. When the cursor cannot be
// resumed — the channel's epoch changed (its history was lost, e.g. Redis
// restarted empty) or what follows the cursor was trimmed — it starts again
// at the oldest publication the channel still holds: everything of the new
// history is exported (the far side drops by spool id and seq what it had
// already), and what was lost is counted as dropped{reason="history_lost"}
// when its size is known.
func (w *chanWorker) read(ctx context.Context) ([]backplane.Publication, error) {
	since := w.cur
	res, err := w.b.bp.History(ctx, w.ch, backplane.HistoryOptions{Since: &since})
	if err != nil {
		return nil, fmt.Errorf("bridge: export %s: history: %w", w.ch, err)
	}
	top := res.Position
	w.topSeen.Store(top.Offset)
	if res.Recovered {
		w.lag.Store(top.Offset - min(top.Offset, w.cur.Offset))
		return res.Publications, nil
	}
	sameEpoch := top.Epoch == w.cur.Epoch
	start := backplane.Position{Epoch: top.Epoch}
	res, err = w.b.bp.History(ctx, w.ch, backplane.HistoryOptions{Since: &start})
	if err != nil {
		return nil, fmt.Errorf("bridge: export %s: history: %w", w.ch, err)
	}
	pubs := res.Publications
	var lost uint64
	if !res.Recovered {
		res, err = w.b.bp.History(ctx, w.ch, backplane.HistoryOptions{Last: resetReplay})
		if err != nil {
			return nil, fmt.Errorf("bridge: export %s: history: %w", w.ch, err)
		}
		pubs = res.Publications
		if len(pubs) > 0 {
			lost = pubs[0].Offset - 1
			if sameEpoch {
				lost -= min(lost, w.cur.Offset)
			}
		}
	}
	w.log.Warn("cursor cannot be resumed; exporting the channel's history from its oldest retained frame",
		"cursor_epoch", w.cur.Epoch, "cursor", w.cur.Offset, "epoch", top.Epoch, "top", top.Offset, "lost", lost)
	w.b.m.dropped[dropHistoryLost].Add(float64(lost))
	w.cur = backplane.Position{Epoch: top.Epoch}
	if len(pubs) > 0 {
		w.cur.Offset = pubs[0].Offset - 1
	}
	w.dirty = true
	w.lag.Store(top.Offset - min(top.Offset, w.cur.Offset))
	return pubs, nil
}

// save stores the cursor when it moved: at once when idle, at most every
// cursor_interval while busy.
func (w *chanWorker) save(ctx context.Context, idle bool) error {
	if !w.dirty || (!idle && time.Since(w.lastSaved) < w.b.cfg.cursorInterval) {
		return nil
	}
	if err := w.b.cursors.SetCursor(ctx, w.name, w.cur); err != nil {
		return fmt.Errorf("bridge: export %s: store cursor: %w", w.ch, err)
	}
	w.dirty, w.lastSaved = false, time.Now()
	return nil
}

func (w *chanWorker) saveAtExit() {
	if !w.dirty {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := w.b.cursors.SetCursor(ctx, w.name, w.cur); err != nil {
		w.log.Warn("cannot store the cursor at exit; the next run exports again from the last stored one", "error", err)
	}
}

// send publishes the first publications of pubs and returns how many were
// acknowledged (at least one) or an error. A cbor export packs up to
// batch_frames frames into one message, so one round trip per batch keeps a
// channel's frames in order on the wire (the importing side's dedup needs
// that) and still moves thousands per second over a slow link. json and
// value exports send one message per sample; the samples of one frame go
// out together, frames one after the other, so each sensor topic stays in
// order.
func (w *chanWorker) send(ctx context.Context, pubs []backplane.Publication, sensors []frame.SensorInfo) (int, error) {
	region := w.b.cfg.Region
	if w.e.cfg.Payload == PayloadCBOR {
		n, size := 0, 0
		for n < len(pubs) && n < w.e.cfg.BatchFrames && (n == 0 || size+len(pubs[n].Data) <= w.e.cfg.maxMessageBytes) {
			size += len(pubs[n].Data)
			n++
		}
		payload := make([]byte, 0, size)
		for _, p := range pubs[:n] {
			payload = append(payload, p.Data...)
		}
		msg := w.b.message(w.e.topic.expand(region, w.device, ""), payload, "application/cbor", false)
		if err := w.b.publishAll(ctx, []*paho.Publish{msg}); err != nil {
			return 0, err
		}
		return n, nil
	}
	s, err := frame.DecodeStored(pubs[0].Data)
	if err != nil {
		w.b.m.dropped[dropUndecodable].Inc()
		w.log.Warn("stored publication is not a frame; skipped", "offset", pubs[0].Offset, "error", err)
		return 1, nil
	}
	msgs := make([]*paho.Publish, 0, len(s.Samples))
	var buf []byte
	for _, smp := range s.Samples {
		t := s.T0 + int64(smp.DT)*1000
		buf = buf[:0]
		ctype := "application/json"
		if w.e.cfg.Payload == PayloadJSON {
			buf = appendJSONSample(buf, smp.Value, t, s.Seq, unitOf(sensors, smp.Sensor))
		} else {
			buf = appendValue(buf, smp.Value, false)
			ctype = "text/plain"
		}
		msgs = append(msgs, w.b.message(w.e.topic.expand(region, w.device, smp.Sensor), append([]byte(nil), buf...), ctype, w.e.cfg.Retain))
	}
	if err := w.b.publishAll(ctx, msgs); err != nil {
		return 0, err
	}
	return 1, nil
}

func unitOf(sensors []frame.SensorInfo, id string) string {
	for _, s := range sensors {
		if s.ID == id {
			return s.Unit
		}
	}
	return ""
}

// message builds a QoS 1 publication carrying the origin property.
func (b *Bridge) message(topic string, payload []byte, contentType string, retain bool) *paho.Publish {
	return &paho.Publish{
		QoS:     1,
		Retain:  retain,
		Topic:   topic,
		Payload: payload,
		Properties: &paho.PublishProperties{
			ContentType: contentType,
			User:        paho.UserProperties{{Key: OriginProperty, Value: b.cfg.Region}},
		},
	}
}

// publishAll publishes msgs concurrently, each holding one in-flight token
// until its PUBACK, and returns the first error.
func (b *Bridge) publishAll(ctx context.Context, msgs []*paho.Publish) error {
	cm := b.conn()
	if cm == nil {
		return autopaho.ConnectionDownError
	}
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for _, msg := range msgs {
		select {
		case b.window <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-b.window }()
			pctx, cancel := context.WithTimeout(ctx, b.cfg.MQTT.publishTimeout)
			defer cancel()
			_, err := cm.Publish(pctx, msg)
			if err == nil {
				b.m.out.Inc()
				return
			}
			errMu.Lock()
			if first == nil {
				first = fmt.Errorf("bridge: publish %s: %w", msg.Topic, err)
			}
			errMu.Unlock()
		}()
	}
	wg.Wait()
	return first
}

// historyCursors keeps each cursor as the newest publication of its own
// channel "bridge.cursor/<name>", for backplanes without backplane.Cursors.
// It works on any Broker, at the price of a short history per cursor.
type historyCursors struct{ b backplane.Broker }

const cursorChannelPrefix = "bridge.cursor/"

func (h historyCursors) GetCursor(ctx context.Context, name string) (backplane.Position, bool, error) {
	res, err := h.b.History(ctx, cursorChannelPrefix+name, backplane.HistoryOptions{Last: 1})
	if err != nil || len(res.Publications) == 0 {
		return backplane.Position{}, false, err
	}
	data := string(res.Publications[0].Data)
	i := strings.LastIndexByte(data, ' ')
	n, err := strconv.ParseUint(data[i+1:], 10, 64)
	if i < 0 || err != nil {
		return backplane.Position{}, false, fmt.Errorf("bridge: cursor %s: malformed %q", name, res.Publications[0].Data)
	}
	return backplane.Position{Epoch: data[:i], Offset: n}, true, nil
}

func (h historyCursors) SetCursor(ctx context.Context, name string, pos backplane.Position) error {
	data := pos.Epoch + " " + strconv.FormatUint(pos.Offset, 10)
	_, err := h.b.Publish(ctx, cursorChannelPrefix+name, []byte(data), backplane.PublishOptions{})
	return err
}
