package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// RedisOptions configure StartRedis. The zero value (or nil) is a server
// without any persistence: a Restart comes back empty.
type RedisOptions struct {
	// AppendOnly turns on the append-only file with fsync on every write, so
	// a Kill and Restart keeps every acknowledged write.
	AppendOnly bool
	// Cluster starts the node with cluster-enabled yes. On its own such a
	// node owns no slots; StartRedisCluster builds a working cluster.
	Cluster bool
	// Config lines are appended to redis.conf, e.g. "maxmemory 10mb".
	Config []string
}

// Redis is a redis-server process started by StartRedis.
type Redis struct {
	server
}

// StartRedis starts redis-server on a free port in a new temporary
// directory and returns once it answers PING. It is killed in t.Cleanup.
func StartRedis(t testing.TB, opts *RedisOptions) *Redis {
	t.Helper()
	var o RedisOptions
	if opts != nil {
		o = *opts
		o.Config = append([]string(nil), opts.Config...)
	}
	r := &Redis{server: server{
		t:    t,
		name: "redis-server",
		bin:  lookBinary(t, "redis-server", "redis-server"),
		dir:  t.TempDir(),
	}}
	r.logPath = filepath.Join(r.dir, "redis.log")
	r.config = func(port int) ([]string, error) {
		p, err := writeFile(r.dir, "redis.conf", redisConfig(r.dir, port, &o))
		if err != nil {
			return nil, err
		}
		return []string{p}, nil
	}
	r.probe = func(ctx context.Context, addr string) error {
		reply, err := respDo(ctx, addr, "PING")
		if err != nil {
			return err
		}
		if reply != "PONG" {
			return fmt.Errorf("testenv: PING answered %q", reply)
		}
		return nil
	}
	r.startFresh()
	return r
}

func redisConfig(dir string, port int, o *RedisOptions) string {
	lines := []string{
		"bind 127.0.0.1",
		fmt.Sprintf("port %d", port),
		fmt.Sprintf("dir %q", dir),
		"daemonize no",
		"protected-mode no",
		`logfile ""`,
		`save ""`,
		"appendonly no",
	}
	if o.AppendOnly {
		lines = append(lines, "appendonly yes", "appendfsync always")
	}
	if o.Cluster {
		lines = append(lines,
			"cluster-enabled yes",
			"cluster-config-file nodes.conf",
			"cluster-node-timeout 2000",
			// The test cluster has no replicas; keep serving the slots a node
			// owns while another node is down.
			"cluster-require-full-coverage no",
		)
	}
	lines = append(lines, o.Config...)
	return strings.Join(lines, "\n") + "\n"
}

// Do sends one command on a new connection and returns the reply as text
// (simple string, bulk string or integer; an array as its elements joined
// by newlines), e.g. r.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub"). Error
// replies are errors.
func (r *Redis) Do(ctx context.Context, args ...string) (string, error) {
	return respDo(ctx, r.Addr(), args...)
}
