package loadtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// readRedisCPU returns the CPU seconds (user + system) the Redis server at
// addr has used, from INFO cpu; an error when addr is empty or unreachable.
func readRedisCPU(ctx context.Context, addr string) (float64, error) {
	if addr == "" {
		return 0, errors.New("loadtest: no redis")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("loadtest: redis info: %w", err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("loadtest: redis info %s: %w", k, err)
		}
		total += f
	}
	return total, nil
}

// loadAverage returns the 1-minute load average of the machine (Linux
// /proc/loadavg), 0 when it cannot be read: other work on the machine is
// what most often explains a low figure.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return 0
	}
	return v
}
