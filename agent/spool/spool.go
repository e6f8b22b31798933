package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/internal/frame"
)

var _ queue.Queue = (*Spool)(nil)

// Sentinel errors.
var (
	// ErrClosed is returned by calls on a closed Spool.
	ErrClosed = errors.New("spool: closed")
	// ErrLocked is returned by Open when another process holds the spool.
	ErrLocked = errors.New("spool: directory in use by another process")
	// ErrTooLarge is returned by Append for a frame over the record limit.
	ErrTooLarge = errors.New("spool: frame too large")
)

// reserveBlock is how many seqs one durable watermark write covers: one
// fsync of the state file per reserveBlock appends, and after a power cut
// the seq jumps by at most about that much.
const reserveBlock = 1024

// Spool is a disk queue of encoded frames: an append-only log of
// checksummed records in segment files. See the package doc for the format
// and the guarantees.
//
// A Spool is safe for concurrent use; the intended use is one producer
// (Append) and one consumer (Next, Ack). Close must be called to stop its
// sync goroutine and release the directory lock.
//
// Drop episodes: when the byte bound makes Append delete unacknowledged
// frames, an episode starts: it is logged once (Warn) and reported once to
// Options.OnDrop. It ends, logged with its total, when acknowledgements
// bring the disk use down to half of MaxBytes.
type Spool struct {
	cfg      *config
	log      hclog.Logger
	m        *metrics
	id       string
	dir      string
	lockF    *os.File
	appended chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup

	// syncMu serialises syncPending; taken before mu, never inside it.
	syncMu       sync.Mutex
	syncFailing  bool // guarded by syncMu: log fsync failures once until one succeeds
	closeStarted sync.Once

	mu sync.Mutex // guards the following fields
	// closed: no more Append, Next, Ack.
	closed bool
	// segs are oldest first; the last is the active segment, appended to.
	// Never empty while open.
	segs []*segment
	next uint64 // seq of the next Append
	st   state  // as last written to the state file
	sf   stateFile
	// held: records and data bytes with seq > st.ack still on disk.
	heldRecords int
	heldBytes   int64
	diskBytes   int64  // sum of segment sizes
	scratch     []byte // Append's encoding buffer
	// unsynced: files written since their last fsync; dirtyDir: entries
	// created or removed since the last directory fsync.
	unsynced []*os.File
	dirtyDir bool
	// episode: a drop episode is in progress, with that many dropped.
	episode        bool
	episodeDropped uint64
}

// Open opens the spool in opts.Dir, creating it when missing. It verifies
// every segment, cuts a torn or corrupt tail after the last whole record
// (see the package doc), and decides where seqs continue. ctx bounds the
// open only, not the Spool's life.
func Open(ctx context.Context, opts *Options) (*Spool, error) {
	return open(ctx, opts, bootID())
}

func open(ctx context.Context, opts *Options, boot string) (_ *Spool, err error) {
	cfg, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		cfg:      cfg,
		log:      cfg.Logger.Named("spool"),
		m:        newMetrics(cfg.Registerer),
		dir:      cfg.Dir,
		appended: make(chan struct{}, 1),
		scratch:  make([]byte, recHeaderLen, 1024),
		stop:     make(chan struct{}),
	}
	defer func() {
		if err != nil {
			s.closeFiles()
		}
	}()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	s.lockF, err = os.OpenFile(filepath.Join(s.dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	if err := lockDir(s.lockF); err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	id, created, err := readOrCreateID(s.dir)
	if err != nil {
		return nil, err
	}
	s.id = id
	bases, err := listSegments(s.dir)
	if err != nil {
		return nil, err
	}
	if created {
		// Whatever is here belongs to no spool id: frames of a lost id can
		// never be told apart from a new stream, so they go.
		if len(bases) > 0 {
			s.log.Warn("spool id missing; discarding old segments", "dir", s.dir, "segments", len(bases))
		}
		for _, b := range bases {
			if err := os.Remove(filepath.Join(s.dir, segName(b))); err != nil {
				return nil, fmt.Errorf("spool: remove stale segment: %w", err)
			}
		}
		bases = nil
		if err := os.Remove(filepath.Join(s.dir, stateName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("spool: remove stale state: %w", err)
		}
	}
	s.sf.f, err = os.OpenFile(filepath.Join(s.dir, stateName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: open state: %w", err)
	}
	st, stOK, stComplete, err := s.sf.read()
	if err != nil {
		return nil, err
	}
	corrupt, err := s.loadSegments(ctx, bases)
	if err != nil {
		return nil, err
	}
	s.decideNext(st, stOK, stComplete, created, corrupt, boot)
	if err := s.prepareActive(); err != nil {
		return nil, err
	}
	s.dropAckedLocked()
	s.recount()
	// Reserve the first block of seqs and record this boot, durably. A
	// new or lost state gets both slots, so a later torn write always
	// leaves one slot to fall back on.
	s.st.watermark = s.next - 1 + reserveBlock
	s.st.boot = boot
	writes := 1
	if !stOK {
		writes = 2
	}
	for range writes {
		s.st.gen++
		if err := s.sf.write(&s.st); err != nil {
			return nil, err
		}
	}
	if err := s.fsync(s.sf.f); err != nil {
		return nil, fmt.Errorf("spool: sync state: %w", err)
	}
	if s.dirtyDir {
		// New or removed segments: make the entries durable before use.
		if err := s.syncDirNow(); err != nil {
			return nil, err
		}
		s.dirtyDir = false
	}
	s.unsynced = slices.DeleteFunc(s.unsynced, func(f *os.File) bool { return f == s.sf.f })
	s.updateGaugesLocked()
	s.log.Info("opened", "dir", s.dir, "id", s.id, "next_seq", s.next, "first_seq", s.firstSeqLocked(),
		"records", s.heldRecords, "disk_bytes", s.diskBytes, "max_bytes", cfg.MaxBytes, "sync", cfg.Sync)
	if cfg.mode == syncInterval {
		s.wg.Go(s.runSyncer)
	}
	return s, nil
}

// listSegments returns the base seqs of the segment files in dir, sorted.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: list %s: %w", dir, err)
	}
	var bases []uint64
	for _, e := range ents {
		if b, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)
	return bases, nil
}

// loadSegments scans every segment. corrupt reports damage other than a
// short tail of the last segment (which a killed write leaves). Open only,
// before the Spool is shared.
func (s *Spool) loadSegments(ctx context.Context, bases []uint64) (corrupt bool, err error) {
	for i, b := range bases {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("spool: open %s: %w", s.dir, err)
		}
		g, res, err := scanSegment(s.dir, b, s.cfg.maxData)
		if err != nil {
			return false, err
		}
		last := i == len(bases)-1
		if res.damage == damageCorrupt || (res.damage == damageShort && !last) {
			corrupt = true
		}
		if res.damage != damageNone {
			s.m.cutBytes.Add(float64(res.cut))
			s.log.Warn("cut damaged segment tail", "segment", g.path, "kept_records", g.count(),
				"cut_bytes", res.cut, "torn_write", res.damage == damageShort)
		}
		if n := len(s.segs); n > 0 && g.base <= s.segs[n-1].last() {
			// Overlapping seqs: cannot come from this code; keep the
			// older records and treat the rest as corrupt.
			s.log.Error("segment overlaps its predecessor; removing it", "segment", g.path)
			corrupt = true
			g.f.Close()
			if err := os.Remove(g.path); err != nil {
				return false, fmt.Errorf("spool: remove segment: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, g)
	}
	return corrupt, nil
}

// decideNext sets s.st and s.next from the state file and the segments.
// Same boot, state intact, no corruption: nothing written before a process
// crash was lost (the page cache survived), so seqs continue right after the
// highest one on disk, or after the active segment's base when it is empty.
// Otherwise (reboot, unknown boot, lost state slot, corruption) frames
// handed out may be gone from disk, and seqs continue after the durable
// watermark: above every seq ever handed out. Open only, before the Spool is
// shared.
func (s *Spool) decideNext(st state, ok, complete, created, corrupt bool, boot string) {
	var maxSeen uint64 // highest seq known to be used
	for _, g := range s.segs {
		maxSeen = max(maxSeen, g.base-1, g.last())
	}
	if ok {
		s.st = st
		maxSeen = max(maxSeen, st.ack)
	}
	next := maxSeen + 1
	sameBoot := ok && complete && boot != "" && st.boot == boot
	switch {
	case created:
	case !ok:
		// Both slots lost: the best bound left is the disk plus a block.
		next += 2*reserveBlock + 1
		s.log.Warn("spool state lost; skipping seqs to stay above any handed out", "next_seq", next)
	case !sameBoot || corrupt:
		wm := st.watermark
		if !complete {
			// The other slot may have held a newer reservation; each write
			// moves the watermark by at most a block (+1).
			wm += reserveBlock + 1
		}
		next = max(next, wm+1)
	}
	s.next = max(next, 1)
}

// prepareActive makes sure the last segment can take the record s.next:
// empty segments other than the last are removed, and a new active segment
// is started when the last one does not end at s.next-1. Open only, before
// the Spool is shared.
func (s *Spool) prepareActive() error {
	kept := s.segs[:0]
	for i, g := range s.segs {
		if g.count() == 0 && (i < len(s.segs)-1 || g.base != s.next) {
			g.f.Close()
			if err := os.Remove(g.path); err != nil {
				return fmt.Errorf("spool: remove empty segment: %w", err)
			}
			s.dirtyDir = true
			continue
		}
		kept = append(kept, g)
	}
	s.segs = kept
	if n := len(s.segs); n == 0 || s.segs[n-1].last()+1 != s.next {
		g, err := createSegment(s.dir, s.next)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, g)
		s.markUnsyncedLocked(g.f)
		s.dirtyDir = true
	}
	return nil
}

// recount recomputes the held and disk totals from the segments. Open only,
// before the Spool is shared.
func (s *Spool) recount() {
	s.heldRecords, s.heldBytes, s.diskBytes = 0, 0, 0
	for _, g := range s.segs {
		s.diskBytes += g.size
		if i := g.firstHeld(s.st.ack); i < len(g.offs) {
			s.heldRecords += len(g.offs) - i
			s.heldBytes += g.dataFrom(i)
		}
	}
}

// firstHeld is the index of the first record with seq > ack.
func (g *segment) firstHeld(ack uint64) int {
	if ack < g.base {
		return 0
	}
	return int(min(ack-g.base+1, g.count()))
}

// ID returns the spool id (HELLO key 6), made when the spool was created.
func (s *Spool) ID() string { return s.id }

// Appended is signalled after each Append (capacity one).
func (s *Spool) Appended() <-chan struct{} { return s.appended }

// Append sets f.Seq to the next seq, encodes f with frame.AppendAgent and
// stores it. Under Sync "always" it returns after the fsync; if only that
// fsync fails, the record is returned with the error: it is stored (the
// page cache holds it) and will be sent, but a power cut may take it.
func (s *Spool) Append(f *frame.Frame) (queue.Record, error) {
	return s.appendEncoded(func(dst []byte, seq uint64) ([]byte, error) {
		f.Seq = seq
		return frame.AppendAgent(dst, f)
	})
}

// appendEncoded stores the record enc appends to dst for seq.
func (s *Spool) appendEncoded(enc func(dst []byte, seq uint64) ([]byte, error)) (queue.Record, error) {
	var report *DropReport
	rec, err := func() (queue.Record, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return queue.Record{}, ErrClosed
		}
		seq := s.next
		// Encode into the reused scratch buffer; Record.Data gets an
		// exactly sized copy (the uplink may hold many of them).
		buf, err := enc(s.scratch[:recHeaderLen], seq)
		if err != nil {
			return queue.Record{}, fmt.Errorf("spool: encode frame %d: %w", seq, err)
		}
		if len(buf) < recHeaderLen {
			return queue.Record{}, fmt.Errorf("spool: encode frame %d: encoder dropped the header room", seq)
		}
		if cap(buf) <= 64<<10 {
			s.scratch = buf[:0]
		}
		n := len(buf) - recHeaderLen
		if n == 0 {
			return queue.Record{}, fmt.Errorf("spool: encode frame %d: empty encoding", seq)
		}
		if n > s.cfg.maxData {
			return queue.Record{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, s.cfg.maxData)
		}
		r := int64(len(buf))
		g := s.segs[len(s.segs)-1]
		if g.sealed || (g.count() > 0 && g.size+r > s.cfg.SegmentBytes) {
			if g, err = s.rotateLocked(); err != nil {
				return queue.Record{}, err
			}
		}
		for s.diskBytes+r > s.cfg.MaxBytes && len(s.segs) > 1 {
			if rep := s.dropOldestLocked(); rep != nil {
				report = rep
			}
		}
		if seq > s.st.watermark {
			if err := s.reserveLocked(); err != nil {
				return queue.Record{}, err
			}
		}
		putRecHeader(buf, seq)
		if _, err := g.f.WriteAt(buf, g.size); err != nil {
			// Leave no partial record behind for the next one to follow.
			if terr := g.f.Truncate(g.size); terr != nil {
				g.sealed = true
			}
			return queue.Record{}, fmt.Errorf("spool: append %d to %s: %w", seq, g.path, err)
		}
		g.offs = append(g.offs, uint32(g.size))
		g.size += r
		s.diskBytes += r
		s.heldRecords++
		s.heldBytes += int64(n)
		s.next++
		s.markUnsyncedLocked(g.f)
		s.m.appended.Inc()
		s.updateGaugesLocked()
		return queue.Record{Seq: seq, Data: bytes.Clone(buf[recHeaderLen:])}, nil
	}()
	if err != nil {
		return rec, err
	}
	select {
	case s.appended <- struct{}{}:
	default:
	}
	if report != nil && s.cfg.OnDrop != nil {
		s.cfg.OnDrop(*report)
	}
	if s.cfg.mode == syncAlways {
		if err := s.syncPending(); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// rotateLocked starts a new active segment at s.next.
func (s *Spool) rotateLocked() (*segment, error) {
	g, err := createSegment(s.dir, s.next)
	if err != nil {
		return nil, err
	}
	s.segs = append(s.segs, g)
	s.diskBytes += g.size
	s.markUnsyncedLocked(g.f)
	s.dirtyDir = true
	return g, nil
}

// reserveLocked moves the watermark a block ahead and makes it durable
// before any seq above the old one is handed out.
func (s *Spool) reserveLocked() error {
	s.st.watermark = s.next - 1 + reserveBlock
	s.st.gen++
	if err := s.sf.write(&s.st); err != nil {
		return err
	}
	if err := s.fsync(s.sf.f); err != nil {
		return fmt.Errorf("spool: reserve seqs: %w", err)
	}
	return nil
}

// dropOldestLocked deletes the oldest segment; the unacknowledged records
// in it are dropped. It returns a report when this starts an episode.
func (s *Spool) dropOldestLocked() *DropReport {
	g := s.segs[0]
	s.segs = s.segs[1:]
	s.diskBytes -= g.size
	var report *DropReport
	if i := g.firstHeld(s.st.ack); i < len(g.offs) {
		n := uint64(len(g.offs) - i)
		s.heldRecords -= int(n)
		s.heldBytes -= g.dataFrom(i)
		s.st.dropped += n
		s.episodeDropped += n
		s.m.droppedFull.Add(float64(n))
		if !s.episode {
			s.episode = true
			report = &DropReport{FirstSeq: g.base + uint64(i), LastSeq: g.last(), Records: n}
			s.log.Warn("spool full: dropping oldest frames until the hub catches up",
				"first_seq", report.FirstSeq, "last_seq", report.LastSeq, "max_bytes", s.cfg.MaxBytes)
		}
		// Persist the count with the next sync; cheap (page cache).
		s.st.gen++
		if err := s.sf.write(&s.st); err == nil {
			s.markUnsyncedLocked(s.sf.f)
		}
	}
	s.removeSegmentLocked(g)
	return report
}

func (s *Spool) removeSegmentLocked(g *segment) {
	g.f.Close()
	if err := os.Remove(g.path); err != nil {
		s.log.Error("cannot remove segment", "segment", g.path, "error", err)
	}
	s.unsynced = slices.DeleteFunc(s.unsynced, func(f *os.File) bool { return f == g.f })
	s.dirtyDir = true
}

func (s *Spool) markUnsyncedLocked(f *os.File) {
	if !slices.Contains(s.unsynced, f) {
		s.unsynced = append(s.unsynced, f)
	}
}

// Next returns records with seq > after, in order: at most max of them
// (max <= 0: no limit) and at most maxBytes of Data in all (maxBytes <= 0:
// no limit), but at least one when any is held. Acknowledged and dropped
// records are skipped, so seqs may jump. Data is freshly allocated and the
// caller's to keep.
//
// A record that fails its checksum here (the medium decayed after Open) is
// cut off with the rest of its segment, counted as dropped (reason
// "corrupt") and skipped.
func (s *Spool) Next(after uint64, max, maxBytes int) ([]queue.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	start := after + 1
	if start <= s.st.ack {
		start = s.st.ack + 1
	}
	if start >= s.next {
		return nil, nil
	}
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].last() >= start })
	var out []queue.Record
	total := int64(0)
	for ; i < len(s.segs); i++ {
		g := s.segs[i]
		if g.count() == 0 || g.last() < start {
			continue
		}
		j := 0
		if start > g.base {
			j = int(start - g.base)
		}
		k := j
		for k < len(g.offs) {
			if max > 0 && len(out)+k-j >= max {
				break
			}
			dl := g.dataLen(k)
			if maxBytes > 0 && total+dl > int64(maxBytes) && len(out)+k-j > 0 {
				break
			}
			total += dl
			k++
		}
		if k == j {
			break
		}
		from, to := int64(g.offs[j]), g.end(k-1)
		buf := make([]byte, to-from)
		if _, err := g.f.ReadAt(buf, from); err != nil {
			return out, fmt.Errorf("spool: read %s: %w", g.path, err)
		}
		full := k == len(g.offs)
		for r := j; r < k; r++ {
			b := buf[int64(g.offs[r])-from : g.end(r)-from]
			seq, data, ok := checkRecord(b)
			if !ok || seq != g.base+uint64(r) {
				s.cutCorruptLocked(g, r)
				full = true // go on with the next segment
				break
			}
			out = append(out, queue.Record{Seq: seq, Data: data[:len(data):len(data)]})
		}
		if !full {
			break
		}
	}
	return out, nil
}

// cutCorruptLocked cuts segment g before record r, which failed its
// checksum when read back.
func (s *Spool) cutCorruptLocked(g *segment, r int) {
	lost := 0
	if i := max(g.firstHeld(s.st.ack), r); i < len(g.offs) {
		lost = len(g.offs) - i
		s.heldRecords -= lost
		s.heldBytes -= g.dataFrom(i)
	}
	s.m.droppedBad.Add(float64(lost))
	off := int64(g.offs[r])
	s.diskBytes -= g.size - off
	s.log.Error("corrupt record read back; cutting segment", "segment", g.path, "seq", g.base+uint64(r),
		"dropped", lost)
	g.offs = g.offs[:r]
	g.size = off
	if err := g.f.Truncate(off); err != nil {
		s.log.Error("cannot cut segment", "segment", g.path, "error", err)
	}
	if g == s.segs[len(s.segs)-1] {
		// Start the next segment now: its name keeps s.next on disk, so
		// a reopen does not hand out the cut seqs again.
		g.sealed = true
		if _, err := s.rotateLocked(); err != nil {
			s.log.Error("cannot start segment after cut", "error", err)
		}
	}
	s.updateGaugesLocked()
}

// Ack releases every record with seq <= seq; a seq above the last one
// appended counts as the last one. Whole segments that are fully
// acknowledged are deleted, except the active one. The ack point is
// written to the state file at once and synced with the Sync policy, so a
// restart resends at most the frames acknowledged since the last sync.
func (s *Spool) Ack(seq uint64) error {
	err := func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return ErrClosed
		}
		seq = min(seq, s.next-1)
		if seq <= s.st.ack {
			return nil
		}
		for _, g := range s.segs {
			i0, i1 := g.firstHeld(s.st.ack), g.firstHeld(seq)
			s.heldRecords -= i1 - i0
			s.heldBytes -= g.dataFrom(i0) - g.dataFrom(i1)
		}
		s.st.ack = seq
		s.st.gen++
		if err := s.sf.write(&s.st); err != nil {
			return err
		}
		s.markUnsyncedLocked(s.sf.f)
		s.dropAckedLocked()
		if s.episode && s.diskBytes <= s.cfg.MaxBytes/2 {
			s.log.Info("spool drained: drop episode over", "dropped", s.episodeDropped)
			s.episode, s.episodeDropped = false, 0
		}
		s.updateGaugesLocked()
		return nil
	}()
	if err != nil || s.cfg.mode != syncAlways {
		return err
	}
	return s.syncPending()
}

// dropAckedLocked deletes the fully acknowledged segments before the
// active one.
func (s *Spool) dropAckedLocked() {
	for len(s.segs) > 1 && s.segs[0].last() <= s.st.ack {
		g := s.segs[0]
		s.segs = s.segs[1:]
		s.diskBytes -= g.size
		s.removeSegmentLocked(g)
	}
}

// FirstSeq returns the oldest seq held, or the next seq when none is held
// (HELLO key 5).
func (s *Spool) FirstSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstSeqLocked()
}

func (s *Spool) firstSeqLocked() uint64 {
	for _, g := range s.segs {
		if i := g.firstHeld(s.st.ack); i < len(g.offs) {
			return g.base + uint64(i)
		}
	}
	return s.next
}

// Stats reports what is held and what was dropped (since the spool was
// created, across restarts up to the last state write).
func (s *Spool) Stats() queue.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return queue.Stats{Records: s.heldRecords, Bytes: s.heldBytes, Dropped: s.st.dropped}
}

func (s *Spool) updateGaugesLocked() {
	s.m.records.Set(float64(s.heldRecords))
	s.m.bytes.Set(float64(s.heldBytes))
	s.m.diskBytes.Set(float64(s.diskBytes))
	s.m.segments.Set(float64(len(s.segs)))
}

// Close stops the sync goroutine, records the exact next seq as the
// watermark (so a reboot after a clean stop does not skip seqs), fsyncs
// everything written, whatever the Sync policy, and releases the directory.
// It is idempotent; later calls return nil.
func (s *Spool) Close() error {
	var err error
	s.closeStarted.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		s.wg.Wait()

		s.mu.Lock()
		s.st.watermark = s.next - 1
		s.st.gen++
		werr := s.sf.write(&s.st)
		s.markUnsyncedLocked(s.sf.f)
		s.mu.Unlock()
		err = errors.Join(werr, s.syncPending())
		s.mu.Lock()
		s.closeFiles()
		s.mu.Unlock()
	})
	return err
}

// closeFiles closes every open file; the lock goes with the lock file.
// Called with mu held, or before the Spool is shared.
func (s *Spool) closeFiles() {
	for _, g := range s.segs {
		g.f.Close()
	}
	s.segs = nil
	if s.sf.f != nil {
		s.sf.f.Close()
	}
	if s.lockF != nil {
		s.lockF.Close()
	}
}
