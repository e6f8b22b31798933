package agent_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/hw/sim"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// noNetwork is an HTTP client whose dials fail at once: the agent runs
// without a hub (its frames stay queued), and inside a synctest bubble.
func noNetwork() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("test: no network")
		},
	}}
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: t.Output(), Level: hclog.Debug})
}

func newAgent(t *testing.T, src string, o *agent.Options) *agent.Agent {
	t.Helper()
	cfg, err := agent.ParseConfig("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if o == nil {
		o = &agent.Options{}
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = noNetwork()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	a, err := agent.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runFor runs a for d of bubble time, stops it and returns Run's error.
func runFor(t *testing.T, a *agent.Agent, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// queued decodes every frame left in a's queue.
func queued(t *testing.T, a *agent.Agent) []*frame.Frame {
	t.Helper()
	recs, err := a.Queue().Next(0, 1<<20, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out []*frame.Frame
	for _, r := range recs {
		msgs, err := frame.DecodeAgent(r.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := msgs[0].(*frame.Frame)
		if f.Seq != r.Seq {
			t.Fatalf("record %d holds frame %d", r.Seq, f.Seq)
		}
		out = append(out, f)
	}
	return out
}

type sampleAt struct {
	sensor string
	t      time.Time
	v      frame.Value
}

func flatten(fs []*frame.Frame) []sampleAt {
	var out []sampleAt
	for _, f := range fs {
		for _, s := range f.Samples {
			out = append(out, sampleAt{s.Sensor, time.Unix(0, f.T0+int64(s.DT)*1000), s.Value})
		}
	}
	return out
}

const hubless = `
device_id = "test-pi"
hub {
  url = "ws://hub.invalid/v1/agent"
  reconnect_min = "1s"
  reconnect_max = "1s"
}
`

func TestFlushByInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(t, hubless+`
flush_interval = "1s"
sensor "sim.sine" "s" {
  period = "100ms"
  amplitude = 3
  offset = 20
  wave_period = "7s"
}
`, nil)
		start := time.Now()
		runFor(t, a, 3550*time.Millisecond)

		fs := queued(t, a)
		// Sealed at 1 s, 2 s and 3 s, and the rest when Run ended.
		if len(fs) != 4 {
			t.Fatalf("%d frames, want 4", len(fs))
		}
		ss := flatten(fs)
		if len(ss) != 35 {
			t.Fatalf("%d samples, want 35 (one per 100 ms tick)", len(ss))
		}
		wave, _ := sim.NewSine(&sim.SineOptions{Amplitude: 3, Offset: 20, WavePeriod: 7 * time.Second})
		for i, s := range ss {
			want := start.Add(time.Duration(i+1) * 100 * time.Millisecond)
			if !s.t.Equal(want) {
				t.Fatalf("sample %d at %v, want the tick %v", i, s.t.Sub(start), want.Sub(start))
			}
			// Rounded to 0.01, then sent as the shortest float within
			// half of that.
			if got, exact := s.v.Float64(), wave.At(want); math.Abs(got-exact) > 0.01+1e-9 {
				t.Fatalf("sample %d = %v, want %v within the resolution 0.01", i, got, exact)
			}
		}
		for i, f := range fs {
			if f.Seq != uint64(i+1) {
				t.Errorf("frame %d has seq %d", i, f.Seq)
			}
			if !time.Unix(0, f.T0).Equal(start.Add(time.Duration(i)*time.Second+100*time.Millisecond)) &&
				!time.Unix(0, f.T0).Equal(start.Add(time.Duration(i)*time.Second)) {
				t.Errorf("frame %d starts at %v", i, time.Unix(0, f.T0).Sub(start))
			}
		}
	})
}

func TestFlushByMaxSamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(t, hubless+`
flush_interval = "1m"
max_samples = 25
sensor "sim.walk" "w" {
  period = "10ms"
  seed = 3
}
`, nil)
		runFor(t, a, 1005*time.Millisecond)
		fs := queued(t, a)
		if len(fs) != 4 {
			t.Fatalf("%d frames, want 4 of 25 samples", len(fs))
		}
		for i, f := range fs {
			if len(f.Samples) != 25 {
				t.Fatalf("frame %d has %d samples", i, len(f.Samples))
			}
			for j, s := range f.Samples {
				if s.DT != uint64(j)*10_000 {
					t.Fatalf("frame %d sample %d: dt %d µs, want %d", i, j, s.DT, j*10_000)
				}
			}
		}
	})
}

func TestEventSensor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(t, hubless+`
sensor "sim.toggle" "door" {
  interval = "2s"
}
`, nil)
		start := time.Now()
		runFor(t, a, 6500*time.Millisecond)
		ss := flatten(queued(t, a))
		want := []sampleAt{
			{"door", start.Add(2 * time.Second), frame.Bool(true)},
			{"door", start.Add(4 * time.Second), frame.Bool(false)},
			{"door", start.Add(6 * time.Second), frame.Bool(true)},
		}
		if len(ss) != len(want) {
			t.Fatalf("samples %+v, want %+v", ss, want)
		}
		for i := range want {
			if ss[i].sensor != want[i].sensor || !ss[i].t.Equal(want[i].t) || ss[i].v.Kind() != frame.KindBool || ss[i].v.Bool() != want[i].v.Bool() {
				t.Errorf("sample %d = %+v, want %+v", i, ss[i], want[i])
			}
		}
	})
}

func TestSensorsShareTicks(t *testing.T) {
	// Two sensors with the same period sample on the same instants, and a
	// frame holds both: one frame per interval, every sensor in it.
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(t, hubless+`
flush_interval = "1s"
sensor "sim.sine" "a" { period = "250ms" }
sensor "sim.walk" "b" { period = "250ms" }
sensor "sim.walk" "c" { period = "500ms" }
`, nil)
		runFor(t, a, 2100*time.Millisecond)
		count := map[string]int{}
		for _, s := range flatten(queued(t, a)) {
			count[s.sensor]++
		}
		if count["a"] != 8 || count["b"] != 8 || count["c"] != 4 {
			t.Fatalf("samples per sensor %v, want a:8 b:8 c:4", count)
		}
	})
}

func TestRunReturnsActuatorsToSafeLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var readyCalls atomic.Int32
		a := newAgent(t, hubless+`
actuator "sim.relay" "relay1" {}
actuator "sim.relay" "pump" { safe_level = true }
`, &agent.Options{Ready: func() { readyCalls.Add(1) }})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		synctest.Wait()
		if n := readyCalls.Load(); n != 1 {
			t.Fatalf("Ready called %d times", n)
		}
		if v, _ := a.Actuator("pump").Get(ctx); v != true {
			t.Fatalf("pump starts at %v, want its safe level true", v)
		}
		if err := a.Actuator("relay1").Set(ctx, true); err != nil {
			t.Fatal(err)
		}
		if err := a.Actuator("pump").Set(ctx, false); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]bool{"relay1": false, "pump": true} {
			if v, _ := a.Actuator(name).Get(context.Background()); v != want {
				t.Errorf("%s after Run = %v, want its safe level %v", name, v, want)
			}
		}
		if err := a.Run(context.Background()); err == nil {
			t.Error("second Run did not fail")
		}
	})
}

func TestOptionalSensor(t *testing.T) {
	cases := []struct {
		name     string
		optional bool
		wantErr  string
	}{
		{"optional is skipped", true, ""},
		{"required fails", false, "no thermal zone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := hubless + `
sensor "sim.sine" "s" {}
sensor "soc.thermal" "cpu" {
  sysfs_root = "testdata/no-sysfs"
  optional = ` + map[bool]string{true: "true", false: "false"}[tc.optional] + `
}
`
				a := newAgent(t, src, nil)
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
				defer cancel()
				err := a.Run(ctx)
				if tc.wantErr == "" {
					if err != nil {
						t.Fatal(err)
					}
					ss := flatten(queued(t, a))
					if len(ss) == 0 || ss[0].sensor != "s" {
						t.Fatalf("the other sensor did not sample: %+v", ss)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `"soc.thermal" "cpu"`) {
					t.Fatalf("Run = %v, want an error naming the sensor and %q", err, tc.wantErr)
				}
			})
		})
	}
}

func TestMetricsLint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		a := newAgent(t, hubless+`sensor "sim.sine" "s" {}`, &agent.Options{Registerer: reg})
		runFor(t, a, 2500*time.Millisecond)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
		if err != nil || len(problems) > 0 {
			t.Fatalf("lint: %v %v", problems, err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			m := mf.GetMetric()[0]
			got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		if got["edgeplane_agent_frames_total"] != 2 || got["edgeplane_agent_samples_total"] != 2 || got["edgeplane_agent_queue_frames"] != 2 || got["edgeplane_uplink_connected"] != 0 {
			t.Errorf("metrics %v", got)
		}
	})
}

// The budget of issue 2: at most 8 bytes per sample in a frame of 10
// sensors × 10 samples of realistic readings, which the evenly spaced ticks
// make possible (the codec packs each sensor's run as one series).
func TestFrameBytesPerSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := hubless + "flush_interval = \"1s\"\n"
		for i := range 10 {
			src += fmt.Sprintf("sensor \"sim.sine\" \"s%d\" {\n  period = \"100ms\"\n  offset = %v\n  amplitude = %v\n  wave_period = \"%ds\"\n}\n", i, 20.87+float64(i), 0.5+float64(i)/3, 30+i)
		}
		a := newAgent(t, src, nil)
		runFor(t, a, 1050*time.Millisecond)
		recs, err := a.Queue().Next(0, 10, 1<<20)
		if err != nil || len(recs) < 1 {
			t.Fatalf("%d frames, %v", len(recs), err)
		}
		f := queued(t, a)[0]
		// The flush at 1 s and the samplers' ticks at 1 s fall on the same
		// instant, in no set order: the frame holds 9 or 10 samples of each
		// sensor.
		if len(f.Samples) < 90 || len(f.Samples) > 100 {
			t.Fatalf("first frame has %d samples, want 90 to 100", len(f.Samples))
		}
		per := float64(len(recs[0].Data)) / float64(len(f.Samples))
		t.Logf("frame of %d samples from 10 sensors: %d bytes, %.2f bytes per sample", len(f.Samples), len(recs[0].Data), per)
		if per > 8 {
			t.Errorf("%.2f bytes per sample, budget 8", per)
		}
	})
}

// Healthy (what main feeds to the systemd watchdog) fails, naming the
// sensor, once a periodic sensor has not been read for three periods plus a
// minute, and recovers when reads resume.
func TestHealthyNoticesAHungSensor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(t, hubless+`
sensor "sim.sine" "slow" {
  period = "10s"
}
`, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		if err := a.Healthy(); err != nil {
			t.Fatalf("healthy agent: %v", err)
		}
		a.SetLastRead("slow", time.Now().Add(-(3*10*time.Second + time.Minute + time.Second)))
		err := a.Healthy()
		if err == nil || !strings.Contains(err.Error(), "slow") {
			t.Fatalf("Healthy with a sensor unread for 91 s = %v, want an error naming it", err)
		}
		time.Sleep(10 * time.Second) // the next tick reads it again
		synctest.Wait()
		if err := a.Healthy(); err != nil {
			t.Fatalf("after the sensor was read again: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
