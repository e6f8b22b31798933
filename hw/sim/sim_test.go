package sim_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/hw/sim"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSineAt(t *testing.T) {
	s, err := sim.NewSine(&sim.SineOptions{ID: "t", Amplitude: 2, Offset: 20, WavePeriod: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   time.Duration // after an epoch-aligned instant
		want float64
	}{
		{0, 20}, {time.Second, 22}, {2 * time.Second, 20}, {3 * time.Second, 18}, {500 * time.Millisecond, 20 + 2*math.Sqrt2/2},
	}
	base := time.Unix(1733318400, 0) // a multiple of 4 s
	for _, tc := range cases {
		if got := s.At(base.Add(tc.at)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("At(+%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
	d := s.Describe()
	if len(d) != 1 || d[0].ID != "t" || d[0].Period != time.Second || d[0].Resolution != 0.01 {
		t.Errorf("Describe = %+v", d)
	}
}

func TestSineReadAfterClose(t *testing.T) {
	s, _ := sim.NewSine(nil)
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := s.Read(context.Background()); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

func TestWalkBoundedAndSeeded(t *testing.T) {
	cases := []struct {
		name string
		opts sim.WalkOptions
	}{
		{"default", sim.WalkOptions{}},
		{"narrow, big steps", sim.WalkOptions{Min: 10, Max: 11, Step: 5, Seed: 3}},
		{"negative", sim.WalkOptions{Min: -40, Max: -20, Step: 0.5, Seed: 7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := sim.NewWalk(&tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := sim.NewWalk(&tc.opts)
			lo, hi := tc.opts.Min, tc.opts.Max
			if lo == 0 && hi == 0 {
				hi = 100
			}
			for i := range 2000 {
				ra, err := a.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rb, _ := b.Read(context.Background())
				v := ra[0].Value.(float64)
				if v < lo || v > hi {
					t.Fatalf("read %d: %v outside [%v, %v]", i, v, lo, hi)
				}
				if v != rb[0].Value.(float64) {
					t.Fatalf("read %d: same seed, different walks: %v vs %v", i, v, rb[0].Value)
				}
			}
		})
	}
}

func TestWalkRejectsBadOptions(t *testing.T) {
	start := 200.0
	for name, o := range map[string]sim.WalkOptions{
		"max below min": {Min: 5, Max: 1},
		"negative step": {Step: -1},
		"start outside": {Start: &start},
	} {
		if _, err := sim.NewWalk(&o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestToggleEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tg, err := sim.NewToggle(&sim.ToggleOptions{ID: "door", Interval: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now() // the bubble starts at a multiple of every interval
		ctx, cancel := context.WithCancel(t.Context())
		out := make(chan hw.Reading)
		done := make(chan error)
		go func() { done <- tg.Events(ctx, out) }()
		for i := 1; i <= 4; i++ {
			r := <-out
			want := start.Add(time.Duration(i) * 2 * time.Second)
			if !r.Time.Equal(want) || r.ID != "door" || r.Value != (i%2 == 1) {
				t.Fatalf("event %d = %+v, want time %v level %v", i, r, want, i%2 == 1)
			}
			if !time.Now().Equal(want) {
				t.Fatalf("event %d delivered at %v, want at the flip %v", i, time.Now(), want)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Events returned %v", err)
		}
		if got, _ := tg.Read(context.Background()); got[0].Value != false {
			t.Fatalf("level after 8 s = %v, want false", got[0].Value)
		}
	})
}

func TestRelay(t *testing.T) {
	ctx := context.Background()
	r, _ := sim.NewRelay(&sim.RelayOptions{Name: "relay1", Default: false})
	if r.Name() != "relay1" {
		t.Fatalf("Name = %q", r.Name())
	}
	steps := []struct {
		set     any
		wantErr bool
		want    bool
	}{
		{true, false, true},
		{"on", true, true},
		{false, false, false},
		{true, false, true},
	}
	for i, s := range steps {
		err := r.Set(ctx, s.set)
		if (err != nil) != s.wantErr {
			t.Fatalf("step %d: Set(%v) = %v", i, s.set, err)
		}
		if v, _ := r.Get(ctx); v != s.want {
			t.Fatalf("step %d: Get = %v, want %v", i, v, s.want)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get(ctx); v != false {
		t.Fatalf("after Close the relay is %v, want its default false", v)
	}
	if err := r.Set(ctx, true); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
