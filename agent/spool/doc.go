// Package spool is the agent's disk queue: every frame is written here before
// it is sent, and removed only after the hub acknowledged it (DESIGN.md,
// "Durability contract"). It implements queue.Queue; start with Open and
// Options.
//
// # Format
//
// A spool directory holds:
//
//   - id: the spool id (HELLO key 6, PROTOCOL.md "Agent link"), 128 random
//     bits made when the directory is created, written once (temp file,
//     fsync, rename, directory fsync). A directory without it is a new spool:
//     stray segments are deleted and seqs start at 1 under the new id, which
//     is what the hub expects of a new id.
//   - 00000000000000000001.seg ...: segments, named by the seq of their first
//     record, of about SegmentBytes each. A 16-byte header (magic, base seq)
//     and then records: length, CRC-32C, seq (16 bytes), then the frame's
//     agent-link CBOR. The CRC covers length, seq and data, so zeros, a stale
//     header or a torn one never pass; within a segment seqs run base, base+1
//     ... and a record with any other seq is damage too.
//   - state: the ack point, the seq watermark, the boot id of the writer and
//     the drop count, in two checksummed slots written alternately in place.
//   - lock: held with flock while open; the kernel drops it when the process
//     dies.
//
// # Opening after a crash
//
// Open reads every segment, verifies every record, and cuts (truncates) each
// segment after its last whole record. Every whole record before the damage
// is kept; a damaged record and whatever follows it in that segment are never
// read as data. Later segments are kept, so damage in the middle of the
// spool costs the rest of one segment, not the rest of the spool.
//
// Seqs never repeat, also after a crash during a write:
//
//   - Same boot, state intact, and at most a short tail cut (what write(2)
//     interrupted by kill -9 leaves): the page cache survived the process, so
//     everything Append returned is on disk, and seqs continue right after
//     the highest one found (or the active segment's name when it is empty:
//     the last segment is never deleted, so a fully acknowledged spool still
//     knows where it was). No gap: the hub sees 1..N.
//   - Otherwise (a reboot — power cut or not — an unknown boot id, a lost
//     state slot, or damage other than a short tail): frames that were sent
//     may be gone from disk, so seqs continue above the watermark. The
//     watermark is a reservation: before Append hands out a seq above it,
//     the state file is rewritten with watermark+1024 and fsynced (one fsync
//     per 1024 frames, under every Sync policy). Close writes the exact next
//     seq, so a clean shutdown and reboot does not skip. A power cut skips at
//     most about 1024 seqs, which the hub accepts as a forward jump.
//
// The boot id comes from /proc/sys/kernel/random/boot_id; elsewhere every
// open counts as a reboot (gaps, never repeats).
//
// # Ack, bound, sync
//
// Ack records the ack point in the state file and deletes the segments that
// are fully acknowledged, except the active one. The state write reaches the
// disk with the Sync policy; after a crash the frames acknowledged since the
// last sync are sent again, which the hub deduplicates. The spool is bounded
// by MaxBytes of segment files: Append deletes the oldest segments to make
// room, counting the unacknowledged frames in them (Stats.Dropped,
// edgeplane_spool_dropped_frames_total{reason="full"}) and reporting each drop
// episode once. See Options.Sync for the fsync policies and their trade-off.
//
// # Why not tidwall/wal
//
// tidwall/wal (what Telegraf's disk buffer uses) fits badly:
//
//   - A torn last entry makes Open fail with ErrCorrupt, so a gateway that
//     lost power mid-write cannot open its buffer again without a human; a
//     damaged segment has also been reported to panic in readIndex.
//   - Entries are a uvarint length and the data, with no checksum: a
//     zero-filled tail (what ext4 can leave after a power cut) reads as a
//     run of valid empty entries, and a flipped bit is data.
//   - It fsyncs every write unless NoSync is set, and NoSync means no fsync
//     at all; there is nothing in between to batch syncs.
//   - Truncating the front must leave at least one entry, so "everything was
//     acknowledged" cannot be represented without keeping a sent frame.
//
// The spool needs little of a general log (one writer, whole segments
// released from the front, a reader moving forward), so it is a few hundred
// lines of its own: a torn tail is cut, not reported; nothing panics on bad
// bytes; every record is checksummed; fsyncs are batched by interval; an
// empty spool keeps its position in the active segment's name; and the
// in-memory index (4 bytes per record) is rebuilt from the verified scan at
// every open, so no index file can disagree with the data.
//
// Limits: a failed fsync is counted and logged but not retried (Linux may
// have dropped the pages already). Silent corruption of an already verified
// record is found when it is read back, and cut like a torn tail.
package spool
