// Package queue defines where the agent keeps frames from the moment they are
// made until a hub acknowledges them, and a bounded in-memory implementation.
// The disk spool (agent/spool) implements the same interface.
package queue

import "github.com/edgeplane/edgeplane/internal/frame"

// Record is one stored frame: its seq and its agent-link CBOR encoding
// (frame.AppendAgent of a *frame.Frame), ready to send as is.
type Record struct {
	Seq  uint64
	Data []byte
}

// Queue holds frames until they are acknowledged. Seqs start at 1, increase
// by one per Append and never repeat for one queue ID. Implementations are
// safe for concurrent use by one producer (the sampler) and one consumer
// (the uplink).
type Queue interface {
	// ID is the queue's random id, made with it (HELLO's spool id).
	ID() string
	// Append sets f.Seq to the next seq, encodes and stores f. When the queue
	// is over its bound it drops the oldest records (counted in Dropped).
	Append(f *frame.Frame) (Record, error)
	// Next returns records with seq > after, in order, at most max of them and
	// at most maxBytes of Data in all (but always at least one when any exists).
	Next(after uint64, max, maxBytes int) ([]Record, error)
	// Ack releases every record with seq <= seq.
	Ack(seq uint64) error
	// FirstSeq is the oldest seq held, or the next seq when none is held.
	FirstSeq() uint64
	// Appended is signalled (capacity one, never blocks the producer) after
	// each Append, so that a consumer can wait for new records.
	Appended() <-chan struct{}
	// Stats reports what is held and what was dropped.
	Stats() Stats
	// Close releases resources (flushing to disk where there is one).
	Close() error
}

// Stats describes a queue's content.
type Stats struct {
	Records int    // held, not yet acknowledged
	Bytes   int64  // of Data held
	Dropped uint64 // records dropped because the queue was full, ever
}
