package redis_test

import (
	"testing"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/backplanetest"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// The conformance suite against a real three-master Redis Cluster: hash
// tagged keys, scripts per slot, sharded pub/sub on each slot's master.
func TestConformanceCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, nil)
	backplanetest.Run(t, func(t *testing.T) backplane.Backplane {
		return newBroker(t, c.Addrs(), &redis.Options{Cluster: true, HistorySize: backplanetest.HistorySize})
	})
}
