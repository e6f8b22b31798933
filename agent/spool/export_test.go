package spool

import (
	"context"

	"github.com/edgeplane/edgeplane/agent/queue"
)

// OpenBoot is Open as if the kernel's boot id were boot: a different one
// stands for a reboot (power cut), the same one for a process crash.
func OpenBoot(ctx context.Context, opts *Options, boot string) (*Spool, error) {
	return open(ctx, opts, boot)
}

// BootID is the boot id Open uses.
func BootID() string { return bootID() }

// AppendFunc stores gen(seq) as the record for the next seq, without the
// frame codec.
func (s *Spool) AppendFunc(gen func(seq uint64) []byte) (queue.Record, error) {
	return s.appendEncoded(func(dst []byte, seq uint64) ([]byte, error) {
		return append(dst, gen(seq)...), nil
	})
}

// AppendEncoded is Append with enc in place of the frame codec.
func (s *Spool) AppendEncoded(enc func(dst []byte, seq uint64) ([]byte, error)) (queue.Record, error) {
	return s.appendEncoded(enc)
}

// NextSeq is the seq the next Append gets.
func (s *Spool) NextSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

const (
	ReserveBlock = reserveBlock
	SegHeaderLen = segHeaderLen
	RecHeaderLen = recHeaderLen
)
