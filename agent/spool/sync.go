package spool

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// runSyncer fsyncs what was written, every interval, until Close.
func (s *Spool) runSyncer() {
	t := time.NewTicker(s.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.syncPending() // logs its own failures
		}
	}
}

// syncPending fsyncs every file written since its last fsync, and the
// directory when entries changed. The fsyncs run outside mu, so Append is
// not held up by a slow card. A failed fsync is counted and logged; the file
// is not retried, since after a failed fsync Linux may already have
// dropped the dirty pages, and a second fsync would lie.
func (s *Spool) syncPending() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	files := s.unsynced
	s.unsynced = nil
	dir := s.dirtyDir
	s.dirtyDir = false
	s.mu.Unlock()
	var errs []error
	for _, f := range files {
		if err := s.fsync(f); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, fmt.Errorf("spool: sync %s: %w", f.Name(), err))
		}
	}
	if dir {
		if err := s.syncDirNow(); err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	switch {
	case err != nil && !s.syncFailing:
		s.syncFailing = true
		s.log.Error("fsync failed; a power cut may lose recent frames", "error", err)
	case err == nil && s.syncFailing:
		s.syncFailing = false
		s.log.Info("fsync works again")
	}
	return err
}

func (s *Spool) fsync(f *os.File) error {
	t := time.Now()
	err := f.Sync()
	s.m.fsyncSeconds.Observe(time.Since(t).Seconds())
	s.m.fsyncs.Inc()
	if err != nil && !errors.Is(err, os.ErrClosed) {
		s.m.fsyncErrors.Inc()
	}
	return err
}

func (s *Spool) syncDirNow() error {
	t := time.Now()
	err := syncDir(s.dir)
	s.m.fsyncSeconds.Observe(time.Since(t).Seconds())
	s.m.fsyncs.Inc()
	if err != nil {
		s.m.fsyncErrors.Inc()
	}
	return err
}
