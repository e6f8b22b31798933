package gpio_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	hwgpio "github.com/edgeplane/edgeplane/hw/gpio"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func newPin() *gpiotest.Pin {
	return &gpiotest.Pin{N: "GPIO17", Num: 17, EdgesChan: make(chan gpio.Level)}
}

func TestInputLevelAndPull(t *testing.T) {
	cases := []struct {
		name      string
		pull      string
		activeLow bool
		wantPull  gpio.Pull
		want      bool
	}{
		{"pull up reads high", "up", false, gpio.PullUp, true},
		{"pull down reads low", "down", false, gpio.PullDown, false},
		{"active low inverts", "up", true, gpio.PullUp, false},
		{"empty keeps pull", "", false, gpio.PullNoChange, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPin()
			in, err := hwgpio.NewInput(p, &hwgpio.InputOptions{Name: "door", Pull: tc.pull, ActiveLow: tc.activeLow})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if p.Pull() != tc.wantPull {
				t.Errorf("pull = %s, want %s", p.Pull(), tc.wantPull)
			}
			rs, err := in.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].ID != "door.level" || rs[0].Value != tc.want {
				t.Errorf("Read = %+v, want door.level = %v", rs, tc.want)
			}
		})
	}
}

func TestInputDescribe(t *testing.T) {
	in, err := hwgpio.NewInput(newPin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := hw.Desc{ID: "GPIO17.level", Kind: "level", Period: hwgpio.DefaultInputPeriod}
	if d := in.Describe(); len(d) != 1 || d[0] != want {
		t.Errorf("Describe = %+v, want %+v", d, want)
	}
}

func TestInputMisconfig(t *testing.T) {
	cases := []struct {
		name string
		opts hwgpio.InputOptions
		want string
	}{
		{"bad pull", hwgpio.InputOptions{Pull: "sideways"}, `pull "sideways"`},
		{"bad edge", hwgpio.InputOptions{Edge: "up"}, `edge "up"`},
		{"bad debounce", hwgpio.InputOptions{Debounce: "soon"}, `debounce "soon"`},
		{"negative debounce", hwgpio.InputOptions{Debounce: "-1ms"}, "must not be negative"},
		{"zero period", hwgpio.InputOptions{Period: "0s"}, "period must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hwgpio.NewInput(newPin(), &tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "gpio: input GPIO17: ") {
				t.Errorf("err = %v, want one naming GPIO17 and containing %q", err, tc.want)
			}
		})
	}
	if _, err := hwgpio.NewInput(nil, nil); err == nil {
		t.Error("nil pin accepted")
	}
}

// eventsRun starts Events and returns the readings channel and a stop
// function that cancels it and returns what Events returned.
func eventsRun(t *testing.T, in *hwgpio.Input) (<-chan hw.Reading, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan hw.Reading)
	done := make(chan error, 1)
	go func() { done <- in.Events(ctx, out) }()
	return out, func() error { cancel(); return <-done }
}

// edge makes the fake pin report an edge to the level l; it returns once
// the input's loop has taken it.
func edge(p *gpiotest.Pin, l gpio.Level) { p.EdgesChan <- l }

func TestInputEventsDebounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPin()
		in, err := hwgpio.NewInput(p, &hwgpio.InputOptions{Name: "button", Pull: "up", ActiveLow: true, Debounce: "20ms"})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		out, stop := eventsRun(t, in)

		// A press that bounces three times within 2 ms gives one event,
		// stamped with the first edge, after 20 ms of quiet.
		pressed := time.Now()
		edge(p, gpio.Low)
		time.Sleep(time.Millisecond)
		edge(p, gpio.High)
		time.Sleep(time.Millisecond)
		edge(p, gpio.Low)
		r := <-out
		if r.ID != "button.level" || r.Value != true || !r.Time.Equal(pressed) {
			t.Errorf("press: got %+v, want button.level = true at %v", r, pressed)
		}
		if waited := time.Since(pressed); waited != 22*time.Millisecond {
			t.Errorf("press reported after %v, want 22ms (2ms bounce + 20ms debounce)", waited)
		}

		// A glitch that returns to low within the debounce time sends
		// nothing; the following release does.
		time.Sleep(time.Second)
		edge(p, gpio.High)
		time.Sleep(5 * time.Millisecond)
		edge(p, gpio.Low)
		time.Sleep(time.Second)
		released := time.Now()
		edge(p, gpio.High)
		r = <-out
		if r.Value != false || !r.Time.Equal(released) {
			t.Errorf("release: got %+v, want false at %v (glitch must not count)", r, released)
		}
		if err := stop(); err != nil {
			t.Errorf("Events returned %v after cancel, want nil", err)
		}
	})
}

func TestInputEventsEdgeSelection(t *testing.T) {
	cases := []struct {
		edge string
		want []bool
	}{
		{"both", []bool{true, false, true}},
		{"rising", []bool{true, true}},
		{"falling", []bool{false}},
	}
	for _, tc := range cases {
		t.Run(tc.edge, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPin()
				in, err := hwgpio.NewInput(p, &hwgpio.InputOptions{Pull: "down", Edge: tc.edge, Debounce: "0s"})
				if err != nil {
					t.Fatal(err)
				}
				defer in.Close()
				out, stop := eventsRun(t, in)
				var got []bool
				collect := func() {
					for {
						select {
						case r := <-out:
							got = append(got, r.Value.(bool))
						default:
							return
						}
					}
				}
				for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High} {
					edge(p, l)
					synctest.Wait()
					collect()
				}
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("events %v, want %v", got, tc.want)
					}
				}
			})
		})
	}
}

func TestInputEventsNoneAndTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, err := hwgpio.NewInput(newPin(), &hwgpio.InputOptions{Edge: "none"})
		if err != nil {
			t.Fatal(err)
		}
		// Without edge detection Events sends nothing and ends with ctx.
		out, stopNone := eventsRun(t, in)
		synctest.Wait()
		select {
		case r := <-out:
			t.Errorf("edge none sent %+v", r)
		default:
		}
		if err := stopNone(); err != nil {
			t.Errorf("Events with edge none: %v", err)
		}

		in2, err := hwgpio.NewInput(newPin(), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, stop := eventsRun(t, in2)
		synctest.Wait()
		if err := in2.Events(t.Context(), make(chan hw.Reading)); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Events: %v", err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := in2.Close(); err != nil {
			t.Fatal(err)
		}
		if err := in2.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := in2.Read(t.Context()); err == nil {
			t.Error("Read after Close succeeded")
		}
	})
}
