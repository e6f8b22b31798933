package hubd

import "sync"

// pushResult is what sendQueue.push did.
type pushResult uint8

const (
	pushOK           pushResult = iota
	pushClosed                  // the session is ending; dropped
	pushOverBytes               // over the byte bound; dropped
	pushOverMessages            // over the message bound; dropped
)

// sendQueue is a session's bounded queue of encoded messages waiting for
// the writer. Its overflow policy is to refuse: the session is then closed
// with 1013 (slow consumer) and the client recovers with since, which is
// better than a silent hole. Messages are shared, read-only byte slices.
type sendQueue struct {
	maxBytes int64
	maxMsgs  int
	wake     chan struct{} // capacity 1: there is something to take

	mu     sync.Mutex // guards the following
	items  [][]byte
	bytes  int64
	closed bool
}

func newSendQueue(maxBytes int64, maxMsgs int) sendQueue {
	return sendQueue{maxBytes: maxBytes, maxMsgs: maxMsgs, wake: make(chan struct{}, 1)}
}

// push appends b unless the queue is closed or b would take it over a bound.
func (q *sendQueue) push(b []byte) pushResult {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return pushClosed
	case len(q.items)+1 > q.maxMsgs:
		q.mu.Unlock()
		return pushOverMessages
	case q.bytes+int64(len(b)) > q.maxBytes:
		q.mu.Unlock()
		return pushOverBytes
	}
	q.items = append(q.items, b)
	q.bytes += int64(len(b))
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return pushOK
}

// take moves everything queued to dst and returns it.
func (q *sendQueue) take(dst [][]byte) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.bytes = 0
	return dst
}

// close makes later pushes fail; what is queued can still be taken.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
