package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/hubd/web"
)

// The simulated gateway of the end-to-end test.
const (
	e2eDevice     = "e2e-pi"
	e2eSensor     = "temp"
	e2eResolution = 0.01
	e2eRelay      = "relay1"
	deviceToken   = "e2e-device-token"
	operatorToken = "e2e-operator-token"
)

// e2eAgentConfig samples a sine at 10 Hz and seals a frame every 100 ms.
// The agent announces its actuator relay1 as a channel of kind "relay" and
// reports its level after each command; the dashboard draws a switch for it.
const e2eAgentConfig = `
device_id      = "e2e-pi"
flush_interval = "100ms"
labels = {
  site = "lab"
  room = "e2e"
}
hub {
  url           = "%s"
  token         = "%s"
  reconnect_min = "50ms"
  reconnect_max = "500ms"
}
sensor "sim.sine" "temp" {
  period      = "100ms"
  resolution  = 0.01
  kind        = "temperature"
  unit        = "°C"
  amplitude   = 4
  offset      = 21
  wave_period = "20s"
}
sensor "sim.walk" "rh" {
  period     = "500ms"
  resolution = 0.1
  kind       = "humidity"
  unit       = "%%"
  min        = 30
  max        = 60
  step       = 0.5
}
actuator "sim.relay" "relay1" {}
`

// TestDashboardE2E runs the built dashboard in headless Chromium against a
// real hub and agent (e2e/run.mjs has the steps) and checks what the page
// reports against what a Go dashboard client receives from the same hub.
func TestDashboardE2E(t *testing.T) {
	chromium, node := e2eTools(t)

	logger := hclog.New(&hclog.LoggerOptions{Name: "e2e", Output: t.Output(), Level: hclog.Warn})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	hub, err := startHub(ctx, "127.0.0.1:0", logger)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hub.stop() }()
	addr := hub.addr

	cfg, err := agent.ParseConfig("e2e-agent.hcl", fmt.Appendf(nil, e2eAgentConfig, "ws://"+addr+"/v1/agent", deviceToken))
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(cfg, &agent.Options{Logger: logger, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	watch := newWatcher("ws://"+addr+"/v1/ws", logger.Named("watcher"))

	bg, bgCtx := errgroup.WithContext(ctx)
	bgCtx, stopBG := context.WithCancel(bgCtx)
	bg.Go(func() error { return ag.Run(bgCtx) })
	bg.Go(func() error { return watch.run(bgCtx) })
	defer func() {
		stopBG()
		if err := bg.Wait(); err != nil {
			t.Errorf("agent or watcher: %v", err)
		}
	}()

	cmd := exec.CommandContext(ctx, node, "e2e/run.mjs", "http://"+addr+"/")
	cmd.Env = append(os.Environ(),
		"CHROMIUM="+chromium,
		"EDGEPLANE_E2E_DEVICE="+e2eDevice,
		"EDGEPLANE_E2E_SENSOR="+e2eSensor,
		"EDGEPLANE_E2E_RELAY="+e2eRelay,
		"EDGEPLANE_E2E_TOKEN="+operatorToken,
		"EDGEPLANE_E2E_RESTART=stdin",
		"EDGEPLANE_E2E_ARTIFACTS="+t.ArtifactDir(),
	)
	cmd.Stderr = t.Output()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Bytes()
		t.Logf("page: %s", line)
		var ev e2eEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Errorf("run.mjs printed a line that is not an event: %q", line)
			continue
		}
		seen[ev.Event]++
		switch ev.Event {
		case "value":
			checkShownValue(ctx, t, watch, ev)
		case "restart":
			// Same port, fresh memory backplane: the channel's history is
			// gone (new epoch) and the agent resends what was not ACKed.
			if err := hub.stop(); err != nil {
				t.Errorf("stop hub: %v", err)
			}
			if hub, err = startHub(ctx, addr, logger); err != nil {
				t.Fatalf("restart hub on %s: %v", addr, err)
			}
			if _, err := io.WriteString(stdin, "restarted\n"); err != nil {
				t.Errorf("tell run.mjs: %v", err)
			}
		case "recovered":
			if len(ev.Missing) > 0 {
				t.Errorf("page misses seqs %v after the hub restart", ev.Missing)
			}
		case "command":
			if !ev.OK {
				t.Errorf("gpio.write %s level %v failed: %s", ev.Pin, ev.Level, ev.Error)
			}
		case "done":
			if !ev.OK {
				t.Errorf("run.mjs problems: %v", ev.Problems)
			}
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("node e2e/run.mjs: %v", err)
	}
	for ev, n := range map[string]int{"online": 1, "chart": 1, "value": 3, "restart": 1, "recovered": 1, "command": 2, "window": 1, "done": 1} {
		if seen[ev] < n {
			t.Errorf("run.mjs reported %d %q events, want %d", seen[ev], ev, n)
		}
	}
}

// e2eEvent is one line run.mjs prints.
type e2eEvent struct {
	Event    string   `json:"event"`
	Phase    string   `json:"phase"`
	Sensor   string   `json:"sensor"`
	Seq      uint64   `json:"seq"`
	Text     string   `json:"text"`
	Missing  []uint64 `json:"missing"`
	Pin      string   `json:"pin"`
	Level    bool     `json:"level"`
	OK       bool     `json:"ok"`
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

// checkShownValue compares the value the page shows for a seq with the one
// the Go client received for that seq from the hub.
func checkShownValue(ctx context.Context, t *testing.T, w *watcher, ev e2eEvent) {
	t.Helper()
	got, err := strconv.ParseFloat(ev.Text, 64)
	if err != nil {
		t.Errorf("%s: page shows %q for seq %d, not a number", ev.Phase, ev.Text, ev.Seq)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	want, err := w.value(wctx, ev.Seq, ev.Sensor)
	if err != nil {
		t.Errorf("%s: %v", ev.Phase, err)
		return
	}
	if math.Abs(got-want) > e2eResolution/2+1e-9 {
		t.Errorf("%s: page shows %s for %s seq %d, the hub sent %v", ev.Phase, ev.Text, ev.Sensor, ev.Seq, want)
	}
}

// e2eTools finds Chromium, node and the npm packages; it skips the test when
// one is missing, or fails it under CI=true.
func e2eTools(t *testing.T) (chromium, node string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if !web.Built() {
		missing("the dashboard bundle is not built: run make web (cd hubd/web && npm ci && npm run build), then go test again")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at %s (apt-get install -y chromium, or set CHROMIUM): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core is not installed: run npm ci in hubd/web (%v)", err)
	}
	return chromium, node
}

// testHub is a hub serving on a listener until stop.
type testHub struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startHub starts a hub with a fresh memory backplane on addr (":0" picks
// a port). The device token may open the agent link for e2eDevice, the
// operator token may watch and command.
func startHub(ctx context.Context, addr string, logger hclog.Logger) (*testHub, error) {
	auth := hubd.AuthenticatorFunc(func(_ context.Context, c hubd.Credentials) (hubd.Identity, error) {
		switch c.Token {
		case deviceToken:
			return hubd.Identity{Role: hubd.RoleDevice, Subject: e2eDevice}, nil
		case operatorToken:
			return hubd.Identity{Role: hubd.RoleOperator, Subject: "e2e-operator"}, nil
		}
		return hubd.Identity{}, hubd.ErrUnauthenticated
	})
	cfg := &hubd.Config{
		HubID:  "hub-e2e",
		Region: "lab",
	}
	srv, err := hubd.New(cfg, &hubd.Options{
		Logger:        logger,
		Registerer:    prometheus.NewRegistry(),
		Authenticator: auth,
	})
	if err != nil {
		return nil, err
	}
	// The port of a hub that just stopped is free at once (SO_REUSEADDR);
	// retry briefly all the same.
	var ln net.Listener
	for i := 0; ; i++ {
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", addr); err == nil || i == 50 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithCancel(ctx)
	h := &testHub{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(hctx, ln) }()
	return h, nil
}

// stop drains the hub and waits for Serve to return; idempotent.
func (h *testHub) stop() error {
	h.once.Do(func() {
		h.cancel()
		h.err = <-h.done
	})
	return h.err
}

// watcher is a Go dashboard client: it follows e2eDevice's channel with
// history, through hub restarts, and remembers every sample by seq.
type watcher struct {
	url string
	log hclog.Logger

	mu      sync.Mutex // guards the fields below
	samples map[uint64]map[string]float64
	changed chan struct{} // closed and replaced when samples grow
}

func newWatcher(url string, log hclog.Logger) *watcher {
	return &watcher{url: url, log: log, samples: map[uint64]map[string]float64{}, changed: make(chan struct{})}
}

// run follows the channel until ctx ends, reconnecting after errors.
func (w *watcher) run(ctx context.Context) error {
	for {
		err := w.once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.log.Debug("reconnecting", "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (w *watcher) once(ctx context.Context) error {
	c, _, err := websocket.Dial(ctx, w.url, &websocket.DialOptions{Subprotocols: []string{"edgeplane.v1.json"}})
	if err != nil {
		return err
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20) // a history replay comes coalesced
	for _, m := range []map[string]any{
		{"op": "auth", "id": 1, "token": operatorToken},
		{"op": "sub", "id": 2, "ch": "dev/" + e2eDevice, "history": 100000},
	} {
		b, _ := json.Marshal(m)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			return err
		}
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var m struct {
				Op      string            `json:"op"`
				Seq     uint64            `json:"seq"`
				Samples []json.RawMessage `json:"samples"`
				Message string            `json:"message"`
			}
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("watcher: decode: %w", err)
			}
			switch m.Op {
			case "error":
				return fmt.Errorf("watcher: hub error: %s", m.Message)
			case "frame":
				w.add(m.Seq, m.Samples)
			}
		}
	}
}

func (w *watcher) add(seq uint64, samples []json.RawMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	vals := w.samples[seq]
	if vals == nil {
		vals = map[string]float64{}
		w.samples[seq] = vals
	}
	for _, raw := range samples {
		var s [3]any
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		id, _ := s[0].(string)
		if v, ok := s[2].(float64); ok {
			vals[id] = v
		}
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// value waits until the watcher received sensor's sample of frame seq.
func (w *watcher) value(ctx context.Context, seq uint64, sensor string) (float64, error) {
	for {
		w.mu.Lock()
		v, ok := w.samples[seq][sensor]
		ch := w.changed
		w.mu.Unlock()
		if ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the Go client never received %s of seq %d: %w", sensor, seq, ctx.Err())
		case <-ch:
		}
	}
}
