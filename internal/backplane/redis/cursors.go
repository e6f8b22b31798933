package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

var _ backplane.Cursors = (*Broker)(nil)

// cursorsKey is the hash of named positions ("<epoch> <offset>"), on the
// first server beside presence. It has no expiry: a cursor whose epoch is
// gone simply does not recover (History says so).
func (b *Broker) cursorsKey() string { return b.o.Prefix + ":cursors:{" + b.o.Region + "}" }

// GetCursor returns the position stored under name.
func (b *Broker) GetCursor(ctx context.Context, name string) (backplane.Position, bool, error) {
	if !b.enter() {
		return backplane.Position{}, false, backplane.ErrClosed
	}
	defer b.inflight.Done()
	v, err := b.presenceShard().client.HGet(ctx, b.cursorsKey(), name).Result()
	if errors.Is(err, goredis.Nil) {
		return backplane.Position{}, false, nil
	}
	if err != nil {
		return backplane.Position{}, false, wrap("get cursor "+name, err)
	}
	epoch, offStr, ok := strings.Cut(v, " ")
	off, perr := strconv.ParseUint(offStr, 10, 64)
	if !ok || perr != nil {
		return backplane.Position{}, false, fmt.Errorf("backplane/redis: get cursor %s: bad value %q", name, v)
	}
	return backplane.Position{Epoch: epoch, Offset: off}, true, nil
}

// SetCursor stores pos under name.
func (b *Broker) SetCursor(ctx context.Context, name string, pos backplane.Position) error {
	if strings.Contains(pos.Epoch, " ") {
		return fmt.Errorf("backplane/redis: set cursor %s: epoch %q contains a space", name, pos.Epoch)
	}
	if !b.enter() {
		return backplane.ErrClosed
	}
	defer b.inflight.Done()
	v := pos.Epoch + " " + strconv.FormatUint(pos.Offset, 10)
	return wrap("set cursor "+name, b.presenceShard().client.HSet(ctx, b.cursorsKey(), name, v).Err())
}
