package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisClusterOptions configure StartRedisCluster.
type RedisClusterOptions struct {
	// Masters is the number of master nodes; 0 means 3. The cluster has no
	// replicas: a killed node's slots are unavailable until it restarts.
	Masters int
	// Node options of every node; Cluster is always set.
	Node RedisOptions
}

// RedisCluster is a Redis Cluster of masters started by StartRedisCluster.
type RedisCluster struct {
	// Nodes are the masters; node i owns the i-th equal range of the 16384
	// slots. Kill and Restart them one by one for fault tests: a restarted
	// node keeps its identity and slots (nodes.conf in its directory).
	Nodes []*Redis
}

// StartRedisCluster starts the masters, assigns the slots, joins the nodes
// and returns once every node reports cluster_state:ok.
func StartRedisCluster(t testing.TB, opts *RedisClusterOptions) *RedisCluster {
	t.Helper()
	var o RedisClusterOptions
	if opts != nil {
		o = *opts
	}
	if o.Masters <= 0 {
		o.Masters = 3
	}
	o.Node.Cluster = true
	c := &RedisCluster{}
	for range o.Masters {
		c.Nodes = append(c.Nodes, StartRedis(t, &o.Node))
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	const slots = 16384
	for i, n := range c.Nodes {
		lo, hi := i*slots/o.Masters, (i+1)*slots/o.Masters-1
		if _, err := n.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("testenv: cluster addslots on %s: %v", n.Addr(), err)
		}
	}
	for _, n := range c.Nodes[1:] {
		if _, err := c.Nodes[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(n.Port())); err != nil {
			t.Fatalf("testenv: cluster meet %s: %v", n.Addr(), err)
		}
	}
	if err := c.waitOK(ctx); err != nil {
		t.Fatalf("testenv: cluster not ready: %v", err)
	}
	return c
}

// Addrs are the nodes' addresses, for a cluster client's seed list.
func (c *RedisCluster) Addrs() []string {
	a := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		a[i] = n.Addr()
	}
	return a
}

// WaitOK waits until every node reports cluster_state:ok with every node
// known, e.g. after restarting a node.
func (c *RedisCluster) WaitOK(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := c.waitOK(ctx); err != nil {
		t.Fatalf("testenv: cluster not ready: %v", err)
	}
}

func (c *RedisCluster) waitOK(ctx context.Context) error {
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))
	for {
		var last string
		ok := true
		for _, n := range c.Nodes {
			info, err := n.Do(ctx, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) ||
				!strings.Contains(info, "cluster_slots_assigned:16384") {
				ok = false
				last = fmt.Sprintf("%s: %v %q", n.Addr(), err, info)
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %s)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
