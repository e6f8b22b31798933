// Package redis is the backplane shared by every hub of a region: channel
// history in Redis streams, notifications over Redis pub/sub, presence in
// hashes with expiry, as docs/DESIGN.md ("Backplane") describes.
//
// Per channel ch, with the key prefix p, every key carries the {ch} hash
// tag so that a channel lives in one slot:
//
//	p:{ch}:s  stream: one entry per publication, id "<offset>-0", field d = data
//	p:{ch}:m  meta hash: e = epoch, o = top offset, sp/sq = spool id and seq
//	          of the last publication with a spool id (dedup), x = time of
//	          the last expiry refresh (Redis clock, ms)
//	p:{ch}    pub/sub channel: "<offset> <epoch> <data>"
//
// Publish runs broker_publish.lua (dedup, offset, XADD MAXLEN ~, PUBLISH;
// expiry) in one round trip. Concurrent Publish calls to one server are sent
// as one pipeline of script calls that carry up to 64 publications each
// (see publish.go), so the added delay is at most the round trip of the
// batch before. Every redis.call inside a script costs about as much Redis
// time as the command itself, so the script keeps them off the
// per-publication path: a call groups its publications by channel and reads
// and writes a channel's meta hash once (one HMGET, one HSET, however many
// publications of that channel the call carries), and refreshes the expiry
// of the stream and meta hash only when the last refresh is older than 1/16
// of the history ttl, setting it to the ttl plus that: a channel lives at
// least HistoryTTL and at most 1/16 longer after its last publication. Per
// publication there remain one XADD and one PUBLISH.
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
// hub channels included). One script call then carries the publications of
// one channel (the keys of a call must share a slot). Slot ownership is read
// when a master's subscriber is created: after resharding or a failover to a
// replica, hubs must be restarted to follow it; a master that restarts in
// place (kill -9, restart) is followed, and its lost channels come back with
// a reset.
package redis
