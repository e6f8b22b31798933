// Package e2e holds the end-to-end tests of edgeplane: a real edgeplane-hubd
// and a real edgeplane-agent (in-process, or as processes built from the
// tree) and dashboard clients on real WebSockets, checking what a user
// relies on — frames in order, recovery with since, slow consumers cut off
// without hurting others, nothing lost or doubled across restarts and kills.
package e2e
