package hubd

import (
	"context"
	"sync"
)

// SeqStore is an optional capability of a backplane: the highest seq it
// stored for a channel and spool id (0 when none, or when the channel's
// last spool id is another one). A hub uses it for WELCOME's acked_seq
// when an agent connects; without it the hub remembers what it stored
// itself, which is exact for the memory backplane (both live and die with
// the process).
type SeqStore interface {
	LastSeq(ctx context.Context, ch, spoolID string) (uint64, error)
}

// seqTracker answers acked_seq for WELCOME (PROTOCOL.md, "Agent link").
type seqTracker struct {
	store SeqStore // nil: only what this hub saw

	mu   sync.Mutex // guards last
	last map[string]spoolSeq
}

type spoolSeq struct {
	spoolID string
	seq     uint64
}

func newSeqTracker(s SeqStore) *seqTracker {
	return &seqTracker{store: s, last: make(map[string]spoolSeq)}
}

// lastSeq returns the highest seq stored for ch and spoolID.
func (t *seqTracker) lastSeq(ctx context.Context, ch, spoolID string) (uint64, error) {
	if t.store != nil {
		return t.store.LastSeq(ctx, ch, spoolID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if l, ok := t.last[ch]; ok && l.spoolID == spoolID {
		return l.seq, nil
	}
	return 0, nil
}

// stored records that seq of spoolID is stored on ch (a new spool id
// replaces the old one, as in the backplane's dedup).
func (t *seqTracker) stored(ch, spoolID string, seq uint64) {
	if t.store != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.last[ch]; l.spoolID != spoolID || seq > l.seq {
		t.last[ch] = spoolSeq{spoolID: spoolID, seq: seq}
	}
}
