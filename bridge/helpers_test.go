package bridge_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// waitTimeout bounds every wait of these tests; generous for a loaded
// 2-core CI machine under the race detector.
const waitTimeout = 30 * time.Second

func testLogger(t testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: t.Output(), Level: hclog.Info})
}

// sharedBackplane lets several bridges, one after the other or at once,
// use one memory backplane: the memory broker's Run may be called once, so
// this wrapper runs it once and hands notifications to every Run caller.
type sharedBackplane struct {
	*memory.Broker
	mu       sync.Mutex
	handlers map[*handlerRef]backplane.Handler
}

type handlerRef struct{}

func newSharedBackplane(t testing.TB) *sharedBackplane {
	t.Helper()
	return newSharedBackplaneSize(t, 100000)
}

func newSharedBackplaneSize(t testing.TB, historySize int) *sharedBackplane {
	t.Helper()
	m, err := memory.New(&memory.Options{HistorySize: historySize})
	if err != nil {
		t.Fatal(err)
	}
	s := &sharedBackplane{Broker: m, handlers: map[*handlerRef]backplane.Handler{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(ctx, s)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = m.Close()
	})
	return s
}

func (s *sharedBackplane) Run(ctx context.Context, h backplane.Handler) error {
	ref := &handlerRef{}
	s.mu.Lock()
	s.handlers[ref] = h
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	delete(s.handlers, ref)
	s.mu.Unlock()
	return nil
}

func (s *sharedBackplane) each(f func(backplane.Handler)) {
	s.mu.Lock()
	hs := make([]backplane.Handler, 0, len(s.handlers))
	for _, h := range s.handlers {
		hs = append(hs, h)
	}
	s.mu.Unlock()
	for _, h := range hs {
		f(h)
	}
}

func (s *sharedBackplane) HandlePublication(ch, epoch string, p backplane.Publication) {
	s.each(func(h backplane.Handler) { h.HandlePublication(ch, epoch, p) })
}
func (s *sharedBackplane) HandleReset(ch string, pos backplane.Position) {
	s.each(func(h backplane.Handler) { h.HandleReset(ch, pos) })
}
func (s *sharedBackplane) HandlePresence(d backplane.DeviceState) {
	s.each(func(h backplane.Handler) { h.HandlePresence(d) })
}

// runningBridge is a bridge running in the background of a test.
type runningBridge struct {
	*bridge.Bridge
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// startBridge parses the HCL config src (with {{broker}} replaced by the
// broker's address) and runs a bridge on bp until stop or the test's end.
func startBridge(t testing.TB, bp backplane.Backplane, brokerAddr, src string) *runningBridge {
	t.Helper()
	src = strings.ReplaceAll(src, "{{broker}}", brokerAddr)
	cfg, err := bridge.ParseConfig(t.Name()+".hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	b, err := bridge.New(bp, cfg, &bridge.Options{Logger: testLogger(t, cfg.ID), Registerer: reg, Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rb := &runningBridge{Bridge: b, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { rb.done <- b.Run(ctx) }()
	t.Cleanup(rb.stop)
	return rb
}

// stop ends the bridge and waits for Run; idempotent.
func (rb *runningBridge) stop() {
	rb.cancel()
	if err, ok := <-rb.done; ok {
		close(rb.done)
		if err != nil {
			panic(fmt.Sprintf("bridge Run: %v", err))
		}
	}
}

// msg is one message a test subscriber received.
type msg struct {
	Topic   string
	Payload string
	Retain  bool
	Origin  string
	Type    string
}

// subscriber is a plain MQTT v5 client with a persistent session that
// records what it receives and reconnects by itself.
type subscriber struct {
	cm   *autopaho.ConnectionManager
	msgs chan msg
}

func startSubscriber(t testing.TB, addr, clientID string, filters ...string) *subscriber {
	t.Helper()
	u, err := url.Parse("mqtt://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &subscriber{msgs: make(chan msg, 100000)}
	subs := make([]paho.SubscribeOptions, len(filters))
	for i, f := range filters {
		subs[i] = paho.SubscribeOptions{Topic: f, QoS: 1, RetainAsPublished: true}
	}
	subscribed := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:            []*url.URL{u},
		KeepAlive:             5,
		SessionExpiryInterval: 600,
		ReconnectBackoff:      autopaho.NewConstantBackoff(100 * time.Millisecond),
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go func() {
				if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err == nil {
					select {
					case subscribed <- struct{}{}:
					default:
					}
				}
			}()
		},
		ClientConfig: paho.ClientConfig{
			ClientID: clientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				m := msg{Topic: pr.Packet.Topic, Payload: string(pr.Packet.Payload), Retain: pr.Packet.Retain}
				if p := pr.Packet.Properties; p != nil {
					m.Origin = p.User.Get(bridge.OriginProperty)
					m.Type = p.ContentType
				}
				s.msgs <- m
				return true, nil
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cm = cm
	t.Cleanup(func() {
		cancel()
		<-cm.Done()
	})
	select {
	case <-subscribed:
	case <-time.After(waitTimeout):
		t.Fatal("subscriber did not subscribe")
	}
	return s
}

// next returns the next message, failing the test after waitTimeout.
func (s *subscriber) next(t testing.TB) msg {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message")
		return msg{}
	}
}

// publish sends one QoS 1 message from the subscriber's connection.
func (s *subscriber) publish(t testing.TB, topic string, payload []byte, user ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := s.cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	p := &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: &paho.PublishProperties{}}
	for i := 0; i+1 < len(user); i += 2 {
		p.Properties.User.Add(user[i], user[i+1])
	}
	if _, err := s.cm.Publish(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// agent stands in for a hub with an agent: it announces a device and
// publishes frames on its channel the way hubd does.
type agent struct {
	bp      backplane.Backplane
	id      string
	spoolID string
	seq     uint64
}

func newAgent(t testing.TB, bp backplane.Backplane, id, region string, labels map[string]string) *agent {
	t.Helper()
	a := &agent{bp: bp, id: id, spoolID: "spool-" + id}
	err := bp.SetDevice(context.Background(), backplane.DeviceState{
		ID: id, Online: true, Hub: "hub-" + region, Region: region, Labels: labels,
		Sensors: []frame.SensorInfo{
			{ID: "t", Kind: "temperature", Unit: "°C", PeriodMS: 1000, Resolution: 0.01},
			{ID: "rh", Kind: "humidity", Unit: "%", PeriodMS: 1000, Resolution: 0.1},
		},
		AgentVersion: "v1.2.3", LastSeen: time.Unix(1733318400, 0),
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// frameAt is the t0 of frame seq: 1733318400 s + seq × 10 ms + 123456 ns.
func frameAt(seq uint64) int64 { return 1733318400_000_000_000 + int64(seq)*10_000_000 + 123_456 }

// send publishes the next frame: t = 20 + seq/100, rh = 40.5.
func (a *agent) send(t testing.TB) uint64 {
	t.Helper()
	a.seq++
	st := &frame.Stored{Device: a.id, SpoolID: a.spoolID, Seq: a.seq, T0: frameAt(a.seq), Samples: []frame.Sample{
		{Sensor: "t", DT: 0, Value: frame.Rounded(20+float64(a.seq)/100, 0.01)},
		{Sensor: "rh", DT: 500, Value: frame.Rounded(40.5, 0.1)},
	}}
	data, err := frame.AppendStored(nil, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.bp.Publish(context.Background(), frame.DeviceChannel(a.id), data, backplane.PublishOptions{SpoolID: a.spoolID, Seq: a.seq}); err != nil {
		t.Fatal(err)
	}
	return a.seq
}

// storedFrames reads every frame of dev/<id> from bp.
func storedFrames(t testing.TB, bp backplane.Broker, id string) []*frame.Stored {
	t.Helper()
	res, err := bp.History(context.Background(), frame.DeviceChannel(id), backplane.HistoryOptions{Last: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*frame.Stored, 0, len(res.Publications))
	for _, p := range res.Publications {
		s, err := frame.DecodeStored(p.Data)
		if err != nil {
			t.Fatalf("offset %d: %v", p.Offset, err)
		}
		out = append(out, s)
	}
	return out
}

// eventually polls cond until it holds, failing after waitTimeout. It is
// for state that has no event to wait on (a backplane's history).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// counter reads a counter or gauge of a bridge's registry (with one label
// pair, or none).
func counter(t testing.TB, b *runningBridge, name string, labelValue ...string) float64 {
	t.Helper()
	mfs, err := b.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(labelValue) == 2 {
				match := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labelValue[0] && lp.GetValue() == labelValue[1] {
						match = true
					}
				}
				if !match {
					continue
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s %v not found", name, labelValue)
	return 0
}

// presubscribe creates the persistent session a bridge with clientID would
// have from an earlier run: subscribed to filters (QoS 1, No Local), kept
// by the broker for ten minutes. Messages published before the bridge
// starts are then queued for it, as in a link that has run before.
func presubscribe(t testing.TB, addr, clientID string, filters ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: clientID, Conn: conn})
	expiry := uint32(600)
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, KeepAlive: 30, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}); err != nil {
		t.Fatal(err)
	}
	subs := make([]paho.SubscribeOptions, len(filters))
	for i, f := range filters {
		subs[i] = paho.SubscribeOptions{Topic: f, QoS: 1, NoLocal: true}
	}
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}

// opener returns the backplane of a region. With the memory backplane every
// call for a region returns the same one; with Redis each call is a new
// client of the region's keys (as a separate process would have), closed at
// the test's end.
type opener func(region string) backplane.Backplane

// forEachBackplane runs f against the memory backplane and against the
// Redis backplane on a real redis-server.
func forEachBackplane(t *testing.T, f func(t *testing.T, open opener)) {
	t.Run("memory", func(t *testing.T) {
		shared := map[string]*sharedBackplane{}
		f(t, func(region string) backplane.Backplane {
			if shared[region] == nil {
				shared[region] = newSharedBackplane(t)
			}
			return shared[region]
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := testenv.StartRedis(t, nil)
		prefix := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
		f(t, func(region string) backplane.Backplane {
			b, err := redis.New(&redis.Options{
				Addrs:       []string{srv.Addr()},
				Prefix:      prefix + "-" + region,
				Region:      region,
				HistorySize: 100000,
				Logger:      testLogger(t, "redis-"+region),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			return b
		})
	})
}

func mustGather(t testing.TB, b *runningBridge) []*dto.MetricFamily {
	t.Helper()
	mfs, err := b.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}
