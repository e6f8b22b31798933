// Package backplanetest holds what every backplane implementation is tested
// with: Run, the conformance suite, parameterised by a factory, and
// Recorder, a backplane.Handler that records what it is given and lets a
// test wait for it.
//
// The memory backplane runs the suite in its unit tests; the Redis
// backplane runs it against a real redis-server from internal/testenv.
package backplanetest
