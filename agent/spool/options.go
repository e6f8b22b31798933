package spool

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultSegmentBytes = 4 << 20
	DefaultSync         = "1s"

	// MinSegmentBytes is the smallest segment Open accepts.
	MinSegmentBytes = 4 << 10
	// MaxSegments bounds MaxBytes/SegmentBytes: every segment holds an
	// open file.
	MaxSegments = 1024
	// MaxRecordBytes is the largest encoded frame Append stores: the agent
	// link's default message limit (PROTOCOL.md, "Agent link"). A segment
	// smaller than that lowers it to what fits in one segment.
	MaxRecordBytes = 1 << 20
)

// Options configure a Spool. The zero value of every field but Dir means its
// default; Open leaves the caller's struct untouched.
type Options struct {
	// Dir is the spool directory, created (0700) when missing. Required.
	// One process at a time: Open takes an exclusive lock on it.
	Dir string

	// MaxBytes bounds the bytes of segment files on disk (default 64 MiB).
	// When an Append would go over it, the oldest segments are deleted
	// (unacknowledged frames in them are dropped and counted). It must be
	// at least twice SegmentBytes.
	MaxBytes int64

	// SegmentBytes is the size at which the active segment is closed and a
	// new one started (default 4 MiB, at least 4 KiB). The bound and Ack
	// release whole segments, so it is also their granularity.
	SegmentBytes int64

	// Sync says when appended frames are forced to disk with fsync:
	//
	//   - "always": before Append returns. A power cut loses nothing Append
	//     returned; costs one fsync per frame (SD card wear, and 1-20 ms per
	//     frame on a card).
	//   - a duration such as "1s" (the default) or "200ms": at most that
	//     long after the frame was written, by a background goroutine that
	//     Close stops. A power cut may lose the frames of the last interval.
	//   - "never": the kernel writes back when it likes (about 30 s on
	//     Linux). Least wear, most frames lost to a power cut.
	//
	// A process crash (kill -9, OOM, panic) loses nothing under any policy:
	// written data sits in the page cache, which survives the process.
	// Whatever the policy, the seq watermark (see the package doc) is
	// fsynced before it is used, so a seq is never handed out twice, and
	// Close syncs everything.
	Sync string

	// OnDrop, when set, is called once at the start of each drop episode
	// (see Spool), on the goroutine that called Append, after the Spool's
	// lock is released.
	OnDrop func(DropReport)

	// Logger receives the spool's few log lines (cut tails, drop episodes,
	// fsync failures). Nil means no logging.
	Logger hclog.Logger

	// Registerer receives the spool's metrics. Nil means no metrics.
	Registerer prometheus.Registerer
}

// DropReport describes the first drop of an episode.
type DropReport struct {
	FirstSeq, LastSeq uint64 // seqs of the dropped frames (inclusive)
	Records           uint64 // frames dropped
}

// syncMode is the parsed Options.Sync.
type syncMode int

const (
	syncInterval syncMode = iota
	syncAlways
	syncNever
)

func (m syncMode) String() string {
	switch m {
	case syncAlways:
		return "always"
	case syncNever:
		return "never"
	}
	return "interval"
}

// config is Options with the defaults applied and Sync parsed.
type config struct {
	Options
	mode     syncMode
	interval time.Duration
	maxData  int // largest record data
}

var errNoDir = errors.New("spool: options: Dir is required")

func withDefaults(opts *Options) (*config, error) {
	c := &config{}
	if opts != nil {
		c.Options = *opts
	}
	if c.Dir == "" {
		return nil, errNoDir
	}
	c.Dir = filepath.Clean(c.Dir)
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentBytes < MinSegmentBytes {
		return nil, fmt.Errorf("spool: options: SegmentBytes %d below %d", c.SegmentBytes, MinSegmentBytes)
	}
	if c.MaxBytes < 2*c.SegmentBytes {
		return nil, fmt.Errorf("spool: options: MaxBytes %d below twice SegmentBytes %d", c.MaxBytes, c.SegmentBytes)
	}
	if c.MaxBytes/c.SegmentBytes > MaxSegments {
		return nil, fmt.Errorf("spool: options: MaxBytes/SegmentBytes = %d segments, more than %d",
			c.MaxBytes/c.SegmentBytes, MaxSegments)
	}
	c.maxData = int(min(int64(MaxRecordBytes), c.SegmentBytes-segHeaderLen-recHeaderLen))
	if c.Sync == "" {
		c.Sync = DefaultSync
	}
	switch c.Sync {
	case "always":
		c.mode = syncAlways
	case "never":
		c.mode = syncNever
	default:
		d, err := time.ParseDuration(c.Sync)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("spool: options: Sync %q: want \"always\", \"never\" or a positive duration", c.Sync)
		}
		c.mode, c.interval = syncInterval, d
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return c, nil
}
