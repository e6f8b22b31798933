package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// On-disk format (all integers little endian):
//
//	segment file "<base seq, 20 digits>.seg":
//	  header  magic "EPSPOOL1" (8) | base seq (8)
//	  records length (4) | crc (4) | seq (8) | data (length)
//
// crc is CRC-32C (Castagnoli) over length, seq and data, so a zero-filled
// tail, a stale header or a torn header never checks. Within a segment the
// seqs are base, base+1, ... without gaps; between segments they increase.
const (
	segHeaderLen = 16
	recHeaderLen = 16
	segSuffix    = ".seg"
	segMagic     = "EPSPOOL1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// parseSegName returns the base seq of a segment file name.
func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	return base, err == nil && base > 0
}

func putSegHeader(b []byte, base uint64) {
	copy(b, segMagic)
	binary.LittleEndian.PutUint64(b[8:], base)
}

// putRecHeader fills the 16 header bytes before data in b.
func putRecHeader(b []byte, seq uint64) {
	data := b[recHeaderLen:]
	binary.LittleEndian.PutUint32(b[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(b[8:], seq)
	binary.LittleEndian.PutUint32(b[4:], recCRC(b[0:4], b[8:16], data))
}

func recCRC(length, seq, data []byte) uint32 {
	c := crc32.Update(0, castagnoli, length)
	c = crc32.Update(c, castagnoli, seq)
	return crc32.Update(c, castagnoli, data)
}

// checkRecord verifies one record (header and data) in b and returns its
// seq and data.
func checkRecord(b []byte) (uint64, []byte, bool) {
	if len(b) < recHeaderLen {
		return 0, nil, false
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if int(n) != len(b)-recHeaderLen {
		return 0, nil, false
	}
	data := b[recHeaderLen:]
	if binary.LittleEndian.Uint32(b[4:]) != recCRC(b[0:4], b[8:16], data) {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint64(b[8:]), data, true
}

// segment is one segment file. Its fields are guarded by Spool.mu.
type segment struct {
	base uint64
	path string
	f    *os.File
	// offs[i] is the file offset of the record with seq base+i; size is the
	// end of the last whole record, where the next one is written.
	offs []uint32
	size int64
	// sealed: take no more records (a corrupt record was cut from it).
	sealed bool
}

func (g *segment) count() uint64 { return uint64(len(g.offs)) }

// last is the seq of the last record, base-1 when empty.
func (g *segment) last() uint64 { return g.base + g.count() - 1 }

// end returns the offset after record i.
func (g *segment) end(i int) int64 {
	if i+1 < len(g.offs) {
		return int64(g.offs[i+1])
	}
	return g.size
}

// dataLen is the data length of record i.
func (g *segment) dataLen(i int) int64 { return g.end(i) - int64(g.offs[i]) - recHeaderLen }

// dataFrom is the data bytes of records i and after.
func (g *segment) dataFrom(i int) int64 {
	if i >= len(g.offs) {
		return 0
	}
	return g.size - int64(g.offs[i]) - int64(len(g.offs)-i)*recHeaderLen
}

// damage is what a scan found after the last whole record.
type damage int

const (
	damageNone damage = iota
	// damageShort: the file ends inside a record header or its data (or
	// inside the segment header) and nothing follows. That is what a
	// process killed during write(2) leaves; the record was never handed
	// out.
	damageShort
	// damageCorrupt: anything else (bad checksum, impossible length, wrong
	// seq, bad segment header, zeros).
	damageCorrupt
)

// scanResult is what scanSegment found.
type scanResult struct {
	damage damage
	cut    int64 // bytes after the last whole record (cut off)
}

// scanSegment opens and verifies the segment at path, cutting (truncating)
// whatever follows its last whole record. A segment whose header is bad
// keeps no record; its header is rewritten.
func scanSegment(dir string, base uint64, maxData int) (*segment, scanResult, error) {
	path := filepath.Join(dir, segName(base))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, scanResult{}, fmt.Errorf("spool: open segment %s: %w", path, err)
	}
	g := &segment{base: base, path: path, f: f}
	res, err := g.scan(maxData)
	if err != nil {
		f.Close()
		return nil, res, err
	}
	return g, res, nil
}

func (g *segment) scan(maxData int) (scanResult, error) {
	fi, err := g.f.Stat()
	if err != nil {
		return scanResult{}, fmt.Errorf("spool: stat %s: %w", g.path, err)
	}
	fileSize := fi.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(g.f, 0, fileSize), 64<<10)
	var res scanResult
	hdr := make([]byte, recHeaderLen)
	// Segment header.
	if fileSize < segHeaderLen {
		// A torn creation leaves a prefix of the header.
		var want [segHeaderLen]byte
		putSegHeader(want[:], g.base)
		got := make([]byte, fileSize)
		if _, err := io.ReadFull(r, got); err != nil {
			return res, fmt.Errorf("spool: read %s: %w", g.path, err)
		}
		res.damage = damageShort
		if !bytes.Equal(got, want[:fileSize]) {
			res.damage = damageCorrupt
		}
		return res, g.cutTo(0, fileSize, &res)
	}
	if _, err := io.ReadFull(r, hdr[:segHeaderLen]); err != nil {
		return res, fmt.Errorf("spool: read %s: %w", g.path, err)
	}
	if string(hdr[:8]) != segMagic || binary.LittleEndian.Uint64(hdr[8:]) != g.base {
		res.damage = damageCorrupt
		return res, g.cutTo(0, fileSize, &res)
	}
	off := int64(segHeaderLen)
	buf := make([]byte, 0, 4<<10)
	for off < fileSize {
		if fileSize-off < recHeaderLen {
			res.damage = damageShort
			if allZero(g.f, off, fileSize-off) {
				res.damage = damageCorrupt // zeros are no torn header
			}
			break
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			return res, fmt.Errorf("spool: read %s: %w", g.path, err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:]))
		seq := binary.LittleEndian.Uint64(hdr[8:])
		if n == 0 || n > int64(maxData) || seq != g.base+g.count() {
			res.damage = damageCorrupt
			break
		}
		if off+recHeaderLen+n > fileSize {
			// The data runs past the end of the file: a torn write, or a
			// header that only looks plausible. Either way the record is
			// not whole.
			res.damage = damageShort
			break
		}
		buf = slices.Grow(buf[:0], recHeaderLen+int(n))[:recHeaderLen+n]
		copy(buf, hdr)
		if _, err := io.ReadFull(r, buf[recHeaderLen:]); err != nil {
			return res, fmt.Errorf("spool: read %s: %w", g.path, err)
		}
		if _, _, ok := checkRecord(buf); !ok {
			res.damage = damageCorrupt
			break
		}
		g.offs = append(g.offs, uint32(off))
		off += recHeaderLen + n
	}
	g.size = off
	if off < fileSize {
		return res, g.cutTo(off, fileSize, &res)
	}
	return res, nil
}

// cutTo truncates the file to off (rewriting the segment header when off is
// 0) and records what was cut.
func (g *segment) cutTo(off, fileSize int64, res *scanResult) error {
	res.cut = fileSize - off
	if err := g.f.Truncate(off); err != nil {
		return fmt.Errorf("spool: cut %s at %d: %w", g.path, off, err)
	}
	if off == 0 {
		var h [segHeaderLen]byte
		putSegHeader(h[:], g.base)
		if _, err := g.f.WriteAt(h[:], 0); err != nil {
			return fmt.Errorf("spool: write header %s: %w", g.path, err)
		}
		off = segHeaderLen
		g.offs = nil
	}
	g.size = off
	return nil
}

func allZero(f *os.File, off, n int64) bool {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// createSegment makes a new, empty segment file.
func createSegment(dir string, base uint64) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: create segment: %w", err)
	}
	var h [segHeaderLen]byte
	putSegHeader(h[:], base)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: write header %s: %w", path, err)
	}
	return &segment{base: base, path: path, f: f, size: segHeaderLen}, nil
}
