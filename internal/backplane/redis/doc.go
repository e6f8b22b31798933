// Package redis is the backplane shared by every hub of a region: channel
// history in Redis streams, notifications over Redis pub/sub, presence in
// hashes with expiry, as docs/DESIGN.md ("Backplane") describes.
//
// Per channel ch, with the key prefix p, every key carries the {ch} hash
// tag so that a channel lives in one slot:
//
//	p:{ch}:s  stream: one entry per publication, id "<offset>-0", field d = data
//	p:{ch}:m  meta hash: e = epoch, o = top offset, sp/sq = spool id and seq
//	          of the last publication with a spool id (dedup)
//	p:{ch}    pub/sub channel: "<offset> <epoch> <data>"
//
// Publish runs broker_publish.lua (dedup, offset increment, XADD MAXLEN ~,
// EXPIRE, PUBLISH) in one round trip. The offset is incremented by the same
// HSET that records the spool id and seq (one hash write instead of
// HINCRBY plus HSET: every Redis call in the script costs Lua overhead on
// the region's hot path). Concurrent Publish calls to one server are sent as
// one pipeline of script calls that carry up to 16 publications each (see
// publish.go), so the added delay is at most the round trip of the batch
// before, and the per-call overhead is paid once per 16.
//
// Each Broker holds one pub/sub connection per server and one subscription
// per channel that hubd subscribed. Delivery never has a silent gap: after
// every (re)subscription it reads the stream from the last delivered offset,
// and a live message whose offset is not the next one (the node fell behind,
// or a notification was lost) is repaired from the stream too. The metric
// edgeplane_backplane_filled_publications_total{reason} says which happened.
// A lost epoch (Redis restarted empty, keys expired) or a gap the trimmed
// stream cannot fill reaches the Handler as HandleReset.
//
// Presence lives in three keys of the region ({region} tag) on the first
// server: a hash of states, a hash of comparison keys and a sorted set of
// expiry times in the Redis clock; every Broker sweeps expired entries every
// Options.PresenceSweep, so a device whose hub died goes offline within its
// ttl plus PresenceSweep. Changes are published on p:presence:{region}.
// Presence changes missed while a pub/sub connection is down are not
// replayed; Devices gives the current state.
//
// Channels are spread over several standalone servers (Options.Addrs) by
// rendezvous hashing of the channel name, so adding a server moves only the
// channels it wins. Channel names must not contain '{' or '}'.
//
// With Options.Cluster the Addrs are seeds of one Redis Cluster: commands
// follow the slots, scripts notify with SPUBLISH, and each master in use
// gets one SSUBSCRIBE connection for the channels of its slots (presence and
// hub channels included). One script call then carries one publication (the
// keys of a call must share a slot). Slot ownership is read when a master's
// subscriber is created: after resharding or a failover to a replica, hubs
// must be restarted to follow it; a master that restarts in place (kill -9,
// restart) is followed, and its lost channels come back with a reset.
package redis
