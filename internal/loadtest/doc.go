// Package loadtest is edgeplane's load generator: simulated agents and
// dashboards that speak the real protocols (docs/PROTOCOL.md, "Agent link"
// and "Dashboard link") over real WebSockets to a hub, and measure what
// users care about: frames per second stored and ACKed, deliveries per
// second at dashboards, ACK and end-to-end latency, and that no dashboard
// ever misses or sees twice a frame (checked by channel offset).
//
// A run (Runner.Run) goes through fixed phases: every dashboard connects
// and subscribes and every agent gets its WELCOME; agents send FRAMEs for
// Config.Duration, each with its send time as t0, at a fixed rate or as
// fast as a window of un-ACKed frames allows; then agents wait for their
// last ACKs and dashboards for their last frames, both bounded by
// Config.DrainTimeout. Rates are taken over the send window; the integrity
// figures (gaps, duplicates, missing) over the whole run, where deliveries
// must equal ACKed frames times subscribers per channel. A dashboard the
// hub closes as a slow consumer (1013) reconnects and resumes with since,
// as a real client does, so that it is counted, not mistaken for loss.
//
// The hub is external (Config.URL) or started in this process
// (Config.InProcess) on the memory backplane or on Redis. In-process, the
// hub and the generator share the machine's cores: Result reports the CPU
// they used, and the Redis server's, so that a figure can be read against
// what limited it.
//
// Where to start: New with a Config, then Run; Result.WriteTable and
// WriteJSON print it, Result.Check turns lost or duplicated frames into an
// error. The edgeplane-load command (hubd/cmd/edgeplane-load) is its flags.
package loadtest
