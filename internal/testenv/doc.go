// Package testenv starts real servers for tests: redis-server (standalone or
// as a Redis Cluster) and mosquitto, each on a free 127.0.0.1 port with its
// configuration and data in t.TempDir(). They never use the well-known ports
// 6379 and 1883, so a system Redis or broker on the same machine is left
// alone.
//
// A server is ready when its start function returns (it answered a probe:
// PING for Redis, an MQTT CONNECT for mosquitto) and is stopped in
// t.Cleanup. Fault tests use Kill (SIGKILL), Restart (same port, same
// directory), Pause and Resume (SIGSTOP, SIGCONT).
//
// When a binary is missing the test is skipped with the apt-get command that
// installs it; with the environment variable CI=true it fails instead, so a
// CI machine without the servers cannot pass by skipping.
//
// Methods that can fail call t.Fatal, so call them from the goroutine running
// the test.
package testenv
