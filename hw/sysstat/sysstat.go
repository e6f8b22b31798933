package sysstat

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/hw"
)

// Defaults of Options.
const (
	DefaultName     = "system"
	DefaultPeriod   = 10 * time.Second
	DefaultDisk     = "/"
	DefaultProcRoot = "/proc"
)

// Options configures New. The zero value is valid.
type Options struct {
	// Name prefixes the channel ids. It comes from the block's name label,
	// so it has no hcl tag. Default "system".
	Name string
	// Period is how often the agent reads, Go duration syntax; default 10s.
	Period string `hcl:"period,optional"`
	// Disk is a path on the file system to report; default "/". Point it
	// at the spool's directory to watch the space the spool lives on.
	Disk string `hcl:"disk,optional"`
	// ProcRoot is where procfs is mounted; default "/proc".
	ProcRoot string `hcl:"proc_root,optional"`
}

// Dev reads system statistics. It holds no resources; its methods may be
// called from any goroutine.
type Dev struct {
	proc  string
	disk  string
	descs []hw.Desc
}

var _ hw.Sensor = (*Dev)(nil)

// New checks that every statistic can be read once and returns the sensor.
// opts may be nil.
func New(opts *Options) (*Dev, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Disk == "" {
		o.Disk = DefaultDisk
	}
	if o.ProcRoot == "" {
		o.ProcRoot = DefaultProcRoot
	}
	period := DefaultPeriod
	if o.Period != "" {
		var err error
		if period, err = time.ParseDuration(o.Period); err != nil {
			return nil, fmt.Errorf("sysstat: %s: period %q: %w", o.Name, o.Period, err)
		}
		if period <= 0 {
			return nil, fmt.Errorf("sysstat: %s: period %q: must be positive", o.Name, o.Period)
		}
	}
	desc := func(q, kind string, res float64) hw.Desc {
		return hw.Desc{ID: o.Name + "." + q, Kind: kind, Period: period, Resolution: res}
	}
	d := &Dev{
		proc: o.ProcRoot,
		disk: o.Disk,
		descs: []hw.Desc{
			desc("load1", "load", 0.01),
			desc("load5", "load", 0.01),
			desc("load15", "load", 0.01),
			desc("memory_used", "memory", 0.001),
			desc("disk_used", "disk", 0.001),
		},
	}
	if _, err := d.Read(context.Background()); err != nil {
		return nil, err
	}
	return d, nil
}

// Describe lists the five channels.
func (d *Dev) Describe() []hw.Desc { return append([]hw.Desc(nil), d.descs...) }

// Read reads every statistic once.
func (d *Dev) Read(ctx context.Context) ([]hw.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	load, err := ReadLoad(d.proc)
	if err != nil {
		return nil, err
	}
	mem, err := ReadMemoryUsed(d.proc)
	if err != nil {
		return nil, err
	}
	disk, err := DiskUsed(d.disk)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	vals := []float64{load[0], load[1], load[2], mem, disk}
	rs := make([]hw.Reading, len(vals))
	for i, v := range vals {
		rs[i] = hw.Reading{ID: d.descs[i].ID, Time: now, Value: v}
	}
	return rs, nil
}

// Close does nothing: the sensor holds no resources.
func (d *Dev) Close() error { return nil }

// ReadLoad returns the 1, 5 and 15 minute load averages from
// <procRoot>/loadavg.
func ReadLoad(procRoot string) ([3]float64, error) {
	p := filepath.Join(procRoot, "loadavg")
	b, err := os.ReadFile(p)
	if err != nil {
		return [3]float64{}, fmt.Errorf("sysstat: %w", err)
	}
	load, err := parseLoad(b)
	if err != nil {
		return load, fmt.Errorf("sysstat: %s: %w", p, err)
	}
	return load, nil
}

// parseLoad parses the first three fields of /proc/loadavg.
func parseLoad(b []byte) ([3]float64, error) {
	var load [3]float64
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return load, fmt.Errorf("want 3 load averages, got %q", b)
	}
	for i := range load {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return load, fmt.Errorf("field %d: bad load average %q", i+1, f[i])
		}
		load[i] = v
	}
	return load, nil
}

// ReadMemoryUsed returns the share of memory in use, 0..1, from
// <procRoot>/meminfo (see the package doc for the definition).
func ReadMemoryUsed(procRoot string) (float64, error) {
	p := filepath.Join(procRoot, "meminfo")
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("sysstat: %w", err)
	}
	r, err := parseMeminfo(b)
	if err != nil {
		return 0, fmt.Errorf("sysstat: %s: %w", p, err)
	}
	return r, nil
}

// parseMeminfo computes the used ratio from the text of /proc/meminfo.
func parseMeminfo(b []byte) (float64, error) {
	kb := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			kb[key] = v
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	total := kb["MemTotal"]
	if total == 0 {
		return 0, errors.New("no MemTotal")
	}
	avail, ok := kb["MemAvailable"]
	if !ok {
		// Saturating sum: garbage values must not wrap around.
		avail = satAdd(satAdd(kb["MemFree"], kb["Buffers"]), kb["Cached"])
	}
	return usedRatio(total, min(avail, total)), nil
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

// usedRatio is (total-free)/total; total > 0 and free <= total.
func usedRatio(total, free uint64) float64 {
	return float64(total-free) / float64(total)
}

// diskRatio is df's Use%: used / (used + available to unprivileged users).
// blocks, bfree and bavail are statfs's counts.
func diskRatio(blocks, bfree, bavail uint64) (float64, error) {
	if bfree > blocks || bavail > bfree {
		return 0, errors.New("inconsistent block counts")
	}
	used := blocks - bfree
	if used+bavail == 0 {
		return 0, nil // an empty file system of size 0 (procfs, tmpfs of 0)
	}
	return float64(used) / float64(used+bavail), nil
}
