package loadtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/loadtest"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Output: t.Output(), Level: hclog.Warn})
}

// run does one short run and checks what every run must show, however
// loaded: every frame ACKed, every ACKed frame delivered exactly once to
// every subscriber of its channel, in offset order.
func run(t *testing.T, cfg loadtest.Config) *loadtest.Result {
	t.Helper()
	r, err := loadtest.New(&cfg, &loadtest.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())

	c := r.Config()
	if res.FramesSent == 0 {
		t.Fatal("no frames sent")
	}
	if res.FramesAcked != res.FramesSent || res.FramesUnacked != 0 {
		t.Errorf("%d frames sent, %d ACKed, %d un-ACKed; want all ACKed", res.FramesSent, res.FramesAcked, res.FramesUnacked)
	}
	if res.Gaps != 0 || res.Duplicates != 0 || res.Missing != 0 {
		t.Errorf("%d gaps, %d duplicates, %d missing; want none", res.Gaps, res.Duplicates, res.Missing)
	}
	// Client c subscribes to devices (c*K+j) mod N: with C*K a multiple of
	// N every device has C*K/N subscribers.
	if (c.Clients*c.ChannelsPerClient)%c.Agents != 0 {
		t.Fatalf("test config: clients x channels (%d) must be a multiple of agents (%d)", c.Clients*c.ChannelsPerClient, c.Agents)
	}
	subsPerChannel := uint64(c.Clients * c.ChannelsPerClient / c.Agents)
	if want := res.FramesAcked * subsPerChannel; res.DeliveriesReceived != want || res.DeliveriesExpected != want {
		t.Errorf("deliveries %d received, %d expected by the tool; want %d (%d frames x %d subscribers per channel)",
			res.DeliveriesReceived, res.DeliveriesExpected, want, res.FramesAcked, subsPerChannel)
	}
	if c.Clients > 0 && res.EndToEnd.Count != res.DeliveriesReceived {
		t.Errorf("end-to-end latency of %d deliveries, want one per delivery (%d)", res.EndToEnd.Count, res.DeliveriesReceived)
	}
	if res.AckLatency.Count != res.FramesAcked {
		t.Errorf("ACK latency of %d frames, want one per ACKed frame (%d)", res.AckLatency.Count, res.FramesAcked)
	}
	if err := res.Check(); err != nil {
		t.Error(err)
	}
	return res
}

func TestRunInProcessMemory(t *testing.T) {
	for name, cfg := range map[string]loadtest.Config{
		"json window":      {Agents: 3, Clients: 6, ChannelsPerClient: 2, Window: 8},
		"json full decode": {Agents: 2, Clients: 2, ChannelsPerClient: 2, Window: 8, FullDecode: true},
		"cbor rate batched": {Agents: 2, Clients: 4, ChannelsPerClient: 1, Proto: "cbor",
			Rate: 400, Window: 16, FramesPerMessage: 4, SamplesPerFrame: 25},
		"one channel many subscribers": {Agents: 1, Clients: 20, Window: 4, SamplesPerFrame: 1},
		"agents only":                  {Agents: 2, Clients: 0},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.InProcess = true
			cfg.Duration = time.Second
			run(t, cfg)
		})
	}
}

func TestRunInProcessRedis(t *testing.T) {
	rd := testenv.StartRedis(t, nil)
	for name, cfg := range map[string]loadtest.Config{
		"one hub":   {Agents: 4, Window: 8, Clients: 4, ChannelsPerClient: 2, Proto: "cbor"},
		"cross-hub": {Agents: 2, Window: 8, Clients: 4, CrossHub: true, FramesPerMessage: 2},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.InProcess, cfg.RedisAddr, cfg.Duration = true, rd.Addr(), time.Second
			res := run(t, cfg)
			if cfg.CrossHub && !strings.Contains(res.Target, "cross-hub") {
				t.Errorf("target %q does not say cross-hub", res.Target)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	res := run(t, loadtest.Config{InProcess: true, Duration: 200 * time.Millisecond, Agents: 1, Clients: 1})
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"frames_per_second", "deliveries_per_second", "gaps", "duplicates", "end_to_end", "ack_latency"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON result has no %q: %s", k, b.String())
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  loadtest.Config
		want string
	}{
		"no target":           {loadtest.Config{}, "hub URL or in-process"},
		"both targets":        {loadtest.Config{URL: "http://127.0.0.1:1", InProcess: true}, "not both"},
		"bad scheme":          {loadtest.Config{URL: "ftp://x"}, "scheme"},
		"redis without hub":   {loadtest.Config{URL: "http://127.0.0.1:1", RedisAddr: "127.0.0.1:2"}, "in-process hub only"},
		"cross-hub on memory": {loadtest.Config{InProcess: true, CrossHub: true}, "cross-hub"},
		"negative agents":     {loadtest.Config{InProcess: true, Agents: -1}, "agents"},
		"negative rate":       {loadtest.Config{InProcess: true, Rate: -1}, "rate"},
		"batch over window":   {loadtest.Config{InProcess: true, Window: 2, FramesPerMessage: 3}, "window"},
		"channels > agents":   {loadtest.Config{InProcess: true, Agents: 2, ChannelsPerClient: 3}, "channels per client"},
		"unknown proto":       {loadtest.Config{InProcess: true, Proto: "xml"}, "proto"},
		"bad device prefix":   {loadtest.Config{InProcess: true, DevicePrefix: "a b"}, "device prefix"},
		"negative duration":   {loadtest.Config{InProcess: true, Duration: -time.Second}, "duration"},
		"negative clients":    {loadtest.Config{InProcess: true, Clients: -1}, "clients"},
		"too many samples":    {loadtest.Config{InProcess: true, SamplesPerFrame: 1 << 20}, "samples per frame"},
		"zero dial slots ok":  {loadtest.Config{InProcess: true, DialConcurrency: 0}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadtest.New(&tc.cfg, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New accepted %+v", tc.cfg)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v; want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRunUnreachableHub(t *testing.T) {
	r, err := loadtest.New(&loadtest.Config{URL: "http://127.0.0.1:1", Agents: 1, Clients: 1, ConnectTimeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "dial") {
		t.Fatalf("Run against a closed port: %v; want a dial error", err)
	}
}

// A run whose context ends early stops every agent, dashboard and the
// in-process hub (goleak checks that in TestMain) and says so.
func TestRunCancelled(t *testing.T) {
	r, err := loadtest.New(&loadtest.Config{InProcess: true, Agents: 2, Clients: 2, Duration: time.Hour}, &loadtest.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, err := r.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v; want it to end with the context's deadline", err)
	}
}

// The tool against a hub it did not start (-url), here one the test serves.
func TestRunExternalHub(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hubd.New(&hubd.Config{Listen: ln.Addr().String(), HubID: "ext", AllowAnonymous: true},
		&hubd.Options{Logger: testLogger(t), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	res := run(t, loadtest.Config{URL: "http://" + ln.Addr().String(), Duration: 500 * time.Millisecond,
		Agents: 2, Clients: 2, ChannelsPerClient: 2, Window: 4})
	if !strings.Contains(res.Target, ln.Addr().String()) || res.Backplane != "external" {
		t.Errorf("target %q, backplane %q; want the URL and external", res.Target, res.Backplane)
	}
}
