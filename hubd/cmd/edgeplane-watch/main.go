// Command edgeplane-watch subscribes to channels of a hub's dashboard link and
// prints every message it receives, one JSON object per line. It is the quick
// way to see raw frames:
//
//	edgeplane-watch -url ws://127.0.0.1:8080/v1/ws dev/demo-pi presence
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/version"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/v1/ws", "hub dashboard WebSocket URL")
	token := flag.String("token", "", "dashboard token (default: $EDGEPLANE_TOKEN; none = anonymous)")
	history := flag.Int("history", 0, "ask for the last N frames of each channel first")
	count := flag.Int("n", 0, "exit after N frames (0 = run until interrupted)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: edgeplane-watch [flags] channel...\n\nchannels: dev/<device id> or presence (default: presence)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Println("edgeplane-watch", version.Get())
		return
	}
	if *token == "" {
		*token = os.Getenv("EDGEPLANE_TOKEN")
	}
	channels := flag.Args()
	if len(channels) == 0 {
		channels = []string{frame.ChannelPresence}
	}
	ctx, cancel := daemon.SignalContext(context.Background())
	defer cancel()
	if err := watch(ctx, os.Stdout, *url, *token, channels, *history, *count); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "edgeplane-watch:", err)
		os.Exit(1)
	}
}

func watch(ctx context.Context, w io.Writer, url, token string, channels []string, history, count int) error {
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}})
	if err != nil {
		return fmt.Errorf("dial %s: %w", url, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)

	var id uint64
	send := func(m map[string]any) error {
		id++
		m["id"] = id
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return c.Write(ctx, websocket.MessageText, b)
	}
	if token != "" {
		if err := send(map[string]any{"op": frame.OpAuth, "token": token}); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	for _, ch := range channels {
		m := map[string]any{"op": frame.OpSub, "ch": ch}
		if history > 0 && strings.HasPrefix(ch, frame.ChannelDevPrefix) {
			m["history"] = history
		}
		if err := send(m); err != nil {
			return fmt.Errorf("sub %s: %w", ch, err)
		}
	}
	frames := 0
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
			if count > 0 && strings.Contains(line, `"op":"frame"`) {
				frames++
				if frames >= count {
					c.Close(websocket.StatusNormalClosure, "done")
					return nil
				}
			}
		}
	}
}
