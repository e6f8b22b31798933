package testenv

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustDo(t *testing.T, r *Redis, args ...string) string {
	t.Helper()
	v, err := r.Do(ctxT(t), args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func TestRedisRestart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     *RedisOptions
		wantKept string
	}{
		{"no persistence forgets", nil, ""},
		{"append only keeps", &RedisOptions{AppendOnly: true}, "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := StartRedis(t, tt.opts)
			if p := r.Port(); p == 6379 || p == 0 {
				t.Fatalf("port %d", p)
			}
			addr := r.Addr()
			mustDo(t, r, "SET", "k", "v")
			r.Kill()
			if _, err := r.Do(ctxT(t), "PING"); err == nil {
				t.Fatal("PING answered after Kill")
			}
			r.Restart()
			if r.Addr() != addr {
				t.Fatalf("addr changed from %s to %s", addr, r.Addr())
			}
			if got := mustDo(t, r, "GET", "k"); got != tt.wantKept {
				t.Fatalf("GET k after restart = %q, want %q", got, tt.wantKept)
			}
		})
	}
}

func TestRedisConfig(t *testing.T) {
	t.Parallel()
	r := StartRedis(t, &RedisOptions{Config: []string{"maxmemory 12mb"}})
	// CONFIG GET returns an array; check through INFO instead.
	info := mustDo(t, r, "INFO", "memory")
	if !strings.Contains(info, "maxmemory:12582912") {
		t.Fatalf("maxmemory not applied:\n%s", info)
	}
	if !strings.Contains(mustDo(t, r, "INFO", "persistence"), "aof_enabled:0") {
		t.Fatal("append only file enabled by default")
	}
}

func TestRedisPauseResume(t *testing.T) {
	t.Parallel()
	r := StartRedis(t, nil)
	r.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err := r.Do(ctx, "PING")
	cancel()
	if err == nil {
		t.Fatal("paused server answered PING")
	}
	r.Resume()
	if got := mustDo(t, r, "PING"); got != "PONG" {
		t.Fatalf("PING = %q", got)
	}
}

func TestRedisPausedCleanup(t *testing.T) {
	t.Parallel()
	// A paused server must still be stopped by the cleanup (goleak in TestMain
	// checks that the waiting goroutine ended).
	r := StartRedis(t, nil)
	r.Pause()
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	c := StartRedisCluster(t, nil)
	if len(c.Addrs()) != 3 {
		t.Fatalf("addrs %v", c.Addrs())
	}
	for _, n := range c.Nodes {
		info := mustDo(t, n, "CLUSTER", "INFO")
		if !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("%s: %s", n.Addr(), info)
		}
	}
	// A restarted node keeps its slots and rejoins.
	c.Nodes[1].Restart()
	c.WaitOK(t)
}

func TestMosquitto(t *testing.T) {
	t.Parallel()
	for _, opts := range []*MosquittoOptions{nil, {Persistence: true}} {
		t.Run(fmt.Sprintf("persistence=%v", opts != nil), func(t *testing.T) {
			t.Parallel()
			m := StartMosquitto(t, opts)
			if p := m.Port(); p == 1883 || p == 0 {
				t.Fatalf("port %d", p)
			}
			if !strings.HasPrefix(m.URL(), "mqtt://127.0.0.1:") {
				t.Fatalf("URL %s", m.URL())
			}
			if err := mqttProbe(ctxT(t), m.Addr()); err != nil {
				t.Fatal(err)
			}
			addr := m.Addr()
			m.Kill()
			if err := mqttProbe(ctxT(t), addr); err == nil {
				t.Fatal("CONNECT accepted after Kill")
			}
			m.Restart()
			if err := mqttProbe(ctxT(t), addr); err != nil {
				t.Fatalf("after restart: %v", err)
			}
			m.Stop()
		})
	}
}

func TestStartRetriesTakenPort(t *testing.T) {
	t.Parallel()
	// Occupy a port and make the first attempt use it: the server exits on
	// the bind failure and start moves on to another port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	r := &Redis{server: server{t: t, name: "redis-server", bin: lookBinary(t, "redis-server", "redis-server"), dir: t.TempDir()}}
	r.logPath = r.dir + "/redis.log"
	r.config = func(port int) ([]string, error) {
		p, err := writeFile(r.dir, "redis.conf", redisConfig(r.dir, port, &RedisOptions{}))
		return []string{p}, err
	}
	r.probe = func(ctx context.Context, addr string) error {
		v, err := respDo(ctx, addr, "PING")
		if err == nil && v != "PONG" {
			err = fmt.Errorf("%q", v)
		}
		return err
	}
	r.port = taken
	if err := r.startOnce(); err != errExited {
		t.Fatalf("start on a taken port: %v, want errExited", err)
	}
}

// fakeTB records Skip and Fatal; both end the calling goroutine as the
// real ones do.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Skip(args ...any)          { f.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)         { f.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(s string, a ...any) { f.fatal = fmt.Sprintf(s, a...); runtime.Goexit() }

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		ci        string
		wantSkip  bool
		wantFatal bool
	}{
		{"", true, false},
		{"false", true, false},
		{"true", false, true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				lookBinary(f, "edgeplane-no-such-binary", "edgeplane-no-such-package")
			}()
			<-done
			msg := f.skipped + f.fatal
			if (f.skipped != "") != tt.wantSkip || (f.fatal != "") != tt.wantFatal {
				t.Fatalf("skipped %q, fatal %q", f.skipped, f.fatal)
			}
			if !strings.Contains(msg, "sudo apt-get install -y edgeplane-no-such-package") {
				t.Fatalf("message lacks the install command: %q", msg)
			}
		})
	}
}

func TestRedisDoArray(t *testing.T) {
	t.Parallel()
	r := StartRedis(t, nil)
	mustDo(t, r, "RPUSH", "l", "a", "b")
	if got := mustDo(t, r, "LRANGE", "l", "0", "-1"); got != "a\nb" {
		t.Fatalf("LRANGE = %q", got)
	}
}
