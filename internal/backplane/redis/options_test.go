package redis_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/edgeplane/edgeplane/internal/backplane/redis"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts *redis.Options
		ok   bool
	}{
		{"nil", nil, false},
		{"no addrs", &redis.Options{}, false},
		{"bad addr", &redis.Options{Addrs: []string{"localhost"}}, false},
		{"duplicate addr", &redis.Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:1"}}, false},
		{"negative history", &redis.Options{Addrs: []string{"127.0.0.1:1"}, HistorySize: -1}, false},
		{"negative ttl", &redis.Options{Addrs: []string{"127.0.0.1:1"}, HistoryTTL: -1}, false},
		{"minimal", &redis.Options{Addrs: []string{"127.0.0.1:1"}}, true},
		{"shards", &redis.Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := redis.New(tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok %v", err, tt.ok)
			}
			if b != nil {
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Rendezvous hashing: every hub with the same servers (in any order) picks
// the same server for a channel, and adding a server moves only the
// channels it wins (about 1/n).
func TestShardFor(t *testing.T) {
	three := []string{"10.0.0.1:6380", "10.0.0.2:6380", "10.0.0.3:6380"}
	reversed := []string{three[2], three[1], three[0]}
	four := append(append([]string(nil), three...), "10.0.0.4:6380")
	a, b, c := redis.ShardAddrFunc(t, three), redis.ShardAddrFunc(t, reversed), redis.ShardAddrFunc(t, four)
	const n = 10000
	counts := map[string]int{}
	moved := 0
	for i := range n {
		ch := fmt.Sprintf("dev/pi-%d", i)
		if a(ch) != b(ch) {
			t.Fatalf("%s: %s with one order, %s with another", ch, a(ch), b(ch))
		}
		counts[a(ch)]++
		if a(ch) != c(ch) {
			if c(ch) != four[3] {
				t.Fatalf("%s moved from %s to %s, not to the new server", ch, a(ch), c(ch))
			}
			moved++
		}
	}
	for addr, k := range counts {
		if k < n/3*8/10 || k > n/3*12/10 {
			t.Errorf("%s has %d of %d channels, want about a third", addr, k, n)
		}
	}
	if moved < n/4*8/10 || moved > n/4*12/10 {
		t.Errorf("adding a fourth server moved %d of %d channels, want about a quarter", moved, n)
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	b, err := redis.New(&redis.Options{Addrs: []string{"127.0.0.1:1"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 8 {
		t.Fatalf("only %d metric families registered", len(mfs))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
