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

// run starts Events, waits until it is counting and returns a stop
// function.
func run(t *testing.T, c *counter.Counter) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Events(ctx, make(chan hw.Reading)) }()
	synctest.Wait()
	return func() error { cancel(); return <-done }
}

// pulses sends n edges spaced by gap; each send returns once the counting
// loop has taken the edge.
func pulses(p *gpiotest.Pin, n int, gap time.Duration) {
	for i := range n {
		p.EdgesChan <- gpio.Level(i%2 == 0)
		time.Sleep(gap)
	}
}

// rate reads the counter once, after the loop has counted what it took.
func rate(t *testing.T, c *counter.Counter) hw.Reading {
	t.Helper()
	synctest.Wait()
	rs, err := c.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}

func TestCounterRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPin()
		c, err := counter.New(p, &counter.Options{Name: "flow", Pull: "up", Period: "1s"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Read(t.Context()); !errors.Is(err, counter.ErrNotCounting) {
			t.Fatalf("Read before Events: %v, want ErrNotCounting", err)
		}
		stop := run(t, c)
		start := time.Now()

		pulses(p, 7, 100*time.Millisecond) // 7 pulses in the first second
		time.Sleep(time.Until(start.Add(time.Second)))
		if r := rate(t, c); r.ID != "flow.rate" || r.Value != 7.0 {
			t.Errorf("period 1: %+v, want flow.rate = 7 Hz", r)
		}

		// A quiet period reads 0 Hz, not the previous rate.
		time.Sleep(time.Second)
		if r := rate(t, c); r.Value != 0.0 {
			t.Errorf("period 2: %v Hz, want 0", r.Value)
		}

		// The window follows the reads: 30 pulses over 2 s are 15 Hz.
		pulses(p, 30, 10*time.Millisecond)
		time.Sleep(2*time.Second - 300*time.Millisecond)
		if r := rate(t, c); r.Value != 15.0 {
			t.Errorf("period 3: %v Hz, want 15", r.Value)
		}
		if err := stop(); err != nil {
			t.Errorf("Events returned %v, want nil", err)
		}
		if _, err := c.Read(t.Context()); !errors.Is(err, counter.ErrNotCounting) {
			t.Errorf("Read after Events ended: %v, want ErrNotCounting", err)
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
		stop := run(t, c)
		start := time.Now()
		// Two tips of a reed switch, each bouncing three times within 2 ms.
		pulses(p, 3, time.Millisecond/2)
		time.Sleep(200 * time.Millisecond)
		pulses(p, 3, time.Millisecond/2)
		time.Sleep(time.Until(start.Add(time.Second)))
		if r := rate(t, c); r.Value != 2.0 {
			t.Errorf("rate %v Hz, want 2 (bounces must not count)", r.Value)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCounterOneEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := counter.New(newPin(), nil)
		if err != nil {
			t.Fatal(err)
		}
		stop := run(t, c)
		if err := c.Events(t.Context(), nil); err == nil {
			t.Error("a second Events was accepted")
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
