package counter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/counter"
	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newPin() *gpiotest.Pin {
	return &gpiotest.Pin{N: "GPIO22", Num: 22, EdgesChan: make(chan gpio.Level)}
}

// run starts Events and returns its output and a stop function.
func run(t *testing.T, c *counter.Counter) (<-chan hw.Reading, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan hw.Reading)
	done := make(chan error, 1)
	go func() { done <- c.Events(ctx, out) }()
	return out, func() error { cancel(); return <-done }
}

// pulses sends n edges spaced by gap; each send returns once the counting
// loop has taken the edge.
func pulses(p *gpiotest.Pin, n int, gap time.Duration) {
	for i := range n {
		p.EdgesChan <- gpio.Level(i%2 == 0)
		time.Sleep(gap)
	}
}

func TestCounterRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPin()
		c, err := counter.New(p, &counter.Options{Name: "flow", Pull: "up", Period: "1s"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Read(t.Context()); !errors.Is(err, counter.ErrNoPeriod) {
			t.Fatalf("Read before a period: %v, want ErrNoPeriod", err)
		}
		out, stop := run(t, c)
		start := time.Now()

		pulses(p, 7, 100*time.Millisecond) // 7 pulses in the first second
		r := <-out
		if r.ID != "flow.rate" || r.Value != 7.0 || !r.Time.Equal(start.Add(time.Second)) {
			t.Errorf("period 1: %+v, want flow.rate = 7 Hz at +1s", r)
		}
		if rs, err := c.Read(t.Context()); err != nil || rs[0] != r {
			t.Errorf("Read = %v, %v; want the last period %+v", rs, err, r)
		}

		// A quiet period reads 0 Hz, not a stale value.
		r = <-out
		if r.Value != 0.0 || !r.Time.Equal(start.Add(2*time.Second)) {
			t.Errorf("period 2: %+v, want 0 Hz at +2s", r)
		}

		pulses(p, 30, 10*time.Millisecond)
		if r = <-out; r.Value != 30.0 {
			t.Errorf("period 3: %v Hz, want 30", r.Value)
		}
		if err := stop(); err != nil {
			t.Errorf("Events returned %v, want nil", err)
		}
	})
}

func TestCounterDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPin()
		c, err := counter.New(p, &counter.Options{Name: "rain", Period: "1s", Debounce: "5ms"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		out, stop := run(t, c)
		// Two tips of a reed switch, each bouncing three times within 2 ms.
		pulses(p, 3, time.Millisecond/2)
		time.Sleep(200 * time.Millisecond)
		pulses(p, 3, time.Millisecond/2)
		if r := <-out; r.Value != 2.0 {
			t.Errorf("rate %v Hz, want 2 (bounces must not count)", r.Value)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCounterDescribe(t *testing.T) {
	c, err := counter.New(newPin(), &counter.Options{Name: "wind", Period: "5s"})
	if err != nil {
		t.Fatal(err)
	}
	want := hw.Desc{ID: "wind.rate", Kind: "rate", Unit: "Hz", Period: 5 * time.Second, Resolution: 0.2}
	if d := c.Describe(); len(d) != 1 || d[0] != want {
		t.Errorf("Describe = %+v, want %+v", d, want)
	}
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if err := c.Events(t.Context(), nil); err == nil {
		t.Error("Events after Close succeeded")
	}
}

func TestCounterMisconfig(t *testing.T) {
	cases := []struct {
		name string
		opts counter.Options
		want string
	}{
		{"bad edge", counter.Options{Edge: "none"}, `edge "none"`},
		{"bad pull", counter.Options{Pull: "strong"}, `pull "strong"`},
		{"bad period", counter.Options{Period: "10"}, `period "10"`},
		{"zero period", counter.Options{Period: "0s"}, "period must be positive"},
		{"debounce too long", counter.Options{Period: "1s", Debounce: "1s"}, "shorter than the period"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := counter.New(newPin(), &tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), "counter: GPIO22: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming GPIO22 and containing %q", err, tc.want)
			}
		})
	}
	if _, err := counter.New(nil, nil); err == nil {
		t.Error("nil pin accepted")
	}
}
