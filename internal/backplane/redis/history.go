package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

// History reads ch's stored publications from its stream (see
// backplane.HistoryOptions). It never returns more than HistorySize, even
// when MAXLEN ~ left more in the stream, and an empty channel gets its
// epoch here.
func (b *Broker) History(ctx context.Context, ch string, opts backplane.HistoryOptions) (backplane.HistoryResult, error) {
	if opts.Last < 0 {
		return backplane.HistoryResult{}, fmt.Errorf("backplane/redis: history %s: negative last %d", ch, opts.Last)
	}
	if !b.enter() {
		return backplane.HistoryResult{}, backplane.ErrClosed
	}
	defer b.inflight.Done()
	res, err := b.readHistory(ctx, b.shardFor(ch), ch, opts)
	return res, wrap("history "+ch, err)
}

func (b *Broker) readHistory(ctx context.Context, s *shard, ch string, opts backplane.HistoryOptions) (backplane.HistoryResult, error) {
	mode, arg, sinceEpoch := "none", "0", ""
	switch {
	case opts.Since != nil:
		mode, arg, sinceEpoch = "since", strconv.FormatUint(opts.Since.Offset, 10), opts.Since.Epoch
	case opts.Last > 0:
		mode, arg = "last", strconv.Itoa(opts.Last)
	}
	keys := []string{b.streamKey(ch), b.metaKey(ch)}
	args := []any{newEpoch(), b.ttlSec, mode, arg, b.o.HistorySize, sinceEpoch}
	v, err := b.history.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return backplane.HistoryResult{}, err
	}
	if len(v) != 3 {
		return backplane.HistoryResult{}, fmt.Errorf("history script returned %d values", len(v))
	}
	epoch, ok1 := v[0].(string)
	top, ok2 := v[1].(int64)
	entries, ok3 := v[2].([]any)
	if !ok1 || !ok2 || !ok3 || top < 0 {
		return backplane.HistoryResult{}, fmt.Errorf("history script returned %#v", v)
	}
	res := backplane.HistoryResult{Position: backplane.Position{Epoch: epoch, Offset: uint64(top)}}
	for _, e := range entries {
		p, err := parseEntry(e)
		if err != nil {
			return backplane.HistoryResult{}, err
		}
		res.Publications = append(res.Publications, p)
	}
	if mode == "last" {
		slices.Reverse(res.Publications)
	}
	if s := opts.Since; s != nil {
		// The script read only when the epoch matches and nothing after
		// since is trimmed; check that the stream had every entry too.
		lowest := uint64(1)
		if top > int64(b.o.HistorySize) {
			lowest = uint64(top) - uint64(b.o.HistorySize) + 1
		}
		want := uint64(top) - s.Offset
		res.Recovered = s.Epoch == epoch && s.Offset <= uint64(top) && s.Offset+1 >= lowest &&
			uint64(len(res.Publications)) == want &&
			(want == 0 || res.Publications[0].Offset == s.Offset+1)
		if !res.Recovered {
			res.Publications = nil
		}
	}
	return res, nil
}

// parseEntry decodes one stream entry: ["<offset>-0", ["d", data]].
func parseEntry(e any) (backplane.Publication, error) {
	ev, ok := e.([]any)
	if !ok || len(ev) != 2 {
		return backplane.Publication{}, fmt.Errorf("bad stream entry %#v", e)
	}
	id, ok1 := ev[0].(string)
	fields, ok2 := ev[1].([]any)
	if !ok1 || !ok2 || len(fields) != 2 {
		return backplane.Publication{}, fmt.Errorf("bad stream entry %#v", e)
	}
	offStr, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(offStr, 10, 64)
	if err != nil {
		return backplane.Publication{}, fmt.Errorf("bad stream id %q", id)
	}
	data, ok := fields[1].(string)
	if !ok {
		return backplane.Publication{}, fmt.Errorf("bad stream entry %#v", e)
	}
	return backplane.Publication{Offset: off, Data: []byte(data)}, nil
}
