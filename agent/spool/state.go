package spool

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The state file holds what the segments cannot tell: the ack point, the
// seq watermark, the boot it was written in and the drop count. It is two
// fixed slots, 4 KiB apart so that one torn sector or flash page cannot
// damage both, written alternately in place (no rename, no directory
// fsync). The valid slot with the higher generation wins.
//
//	slot: magic "EPSTATE1" (8) | crc (4) | 0 (4) | gen (8) | ack (8) |
//	      watermark (8) | dropped (8) | boot id length (1) | boot id (63)
const (
	stateName   = "state"
	idName      = "id"
	lockName    = "lock"
	stateMagic  = "EPSTATE1"
	slotLen     = 128
	slotStride  = 4096
	maxBootLen  = 63
	stateLength = slotStride + slotLen
)

type state struct {
	gen       uint64
	ack       uint64 // every seq <= ack is acknowledged
	watermark uint64 // no seq above it has been handed out
	dropped   uint64 // frames dropped because the spool was full, ever
	boot      string // boot id of the writer
}

func (st *state) marshal(b []byte) {
	clear(b[:slotLen])
	copy(b, stateMagic)
	binary.LittleEndian.PutUint64(b[16:], st.gen)
	binary.LittleEndian.PutUint64(b[24:], st.ack)
	binary.LittleEndian.PutUint64(b[32:], st.watermark)
	binary.LittleEndian.PutUint64(b[40:], st.dropped)
	boot := st.boot
	if len(boot) > maxBootLen {
		boot = boot[:maxBootLen]
	}
	b[48] = byte(len(boot))
	copy(b[49:], boot)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[16:slotLen], castagnoli))
}

func unmarshalState(b []byte) (state, bool) {
	if len(b) < slotLen || string(b[:8]) != stateMagic ||
		binary.LittleEndian.Uint32(b[8:]) != crc32.Checksum(b[16:slotLen], castagnoli) || b[48] > maxBootLen {
		return state{}, false
	}
	return state{
		gen:       binary.LittleEndian.Uint64(b[16:]),
		ack:       binary.LittleEndian.Uint64(b[24:]),
		watermark: binary.LittleEndian.Uint64(b[32:]),
		dropped:   binary.LittleEndian.Uint64(b[40:]),
		boot:      string(b[49 : 49+int(b[48])]),
	}, true
}

// stateFile is the open state file. Guarded by Spool.mu.
type stateFile struct {
	f   *os.File
	buf [slotLen]byte
}

// readState reads both slots. ok is false when neither is valid; complete
// is true when both are (so the newer one is certainly the last write).
func (sf *stateFile) read() (st state, ok, complete bool, err error) {
	b := make([]byte, stateLength)
	n, err := sf.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return state{}, false, false, fmt.Errorf("spool: read state: %w", err)
	}
	b = b[:n]
	var slots [2]state
	var valid [2]bool
	for i := range slots {
		if off := i * slotStride; off < len(b) {
			slots[i], valid[i] = unmarshalState(b[off:])
		}
	}
	switch {
	case valid[0] && valid[1]:
		if slots[1].gen > slots[0].gen {
			return slots[1], true, true, nil
		}
		return slots[0], true, true, nil
	case valid[0]:
		return slots[0], true, false, nil
	case valid[1]:
		return slots[1], true, false, nil
	}
	return state{}, false, false, nil
}

// write stores st (with gen already advanced) in its slot, gen%2.
func (sf *stateFile) write(st *state) error {
	st.marshal(sf.buf[:])
	if _, err := sf.f.WriteAt(sf.buf[:], int64(st.gen%2)*slotStride); err != nil {
		return fmt.Errorf("spool: write state: %w", err)
	}
	return nil
}

// newID returns a random spool id: 128 bits, hex.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand doc)
	return hex.EncodeToString(b[:])
}

// readOrCreateID returns the spool id in dir, making one when the directory
// holds none. created reports a new spool.
func readOrCreateID(dir string) (id string, created bool, err error) {
	path := filepath.Join(dir, idName)
	b, err := os.ReadFile(path)
	if err == nil {
		id = strings.TrimSpace(string(b))
		if validID(id) {
			return id, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("spool: read id: %w", err)
	}
	id = newID()
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, []byte(id+"\n")); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, fmt.Errorf("spool: create id: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", false, err
	}
	return id, true, nil
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: create %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: sync dir %s: %w", dir, err)
	}
	return nil
}
