package bridge_test

import (
	"context"
	"testing"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestCursorCannotResume: when the stored cursor points into a lost
// history (another epoch: Redis restarted empty) or into frames already
// trimmed, the export starts again at the oldest frame the channel holds,
// and counts the frames it knows were lost.
func TestCursorCannotResume(t *testing.T) {
	cases := []struct {
		name      string
		cursor    func(top backplane.Position) backplane.Position
		wantFirst uint64 // seq of the first exported frame
		wantLost  float64
	}{
		// 30 frames in a history of 10: offsets 21..30 remain.
		{"trimmed", func(top backplane.Position) backplane.Position {
			return backplane.Position{Epoch: top.Epoch, Offset: 2}
		}, 21, 18},
		{"other epoch", func(backplane.Position) backplane.Position {
			return backplane.Position{Epoch: "lost-epoch", Offset: 25}
		}, 21, 20},
		{"resumable", func(top backplane.Position) backplane.Position {
			return backplane.Position{Epoch: top.Epoch, Offset: 27}
		}, 28, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mq := testenv.StartMosquitto(t, nil)
			bp := newSharedBackplaneSize(t, 10)
			a := newAgent(t, bp, "pi-eu", "eu", nil)
			for range 30 {
				a.send(t)
			}
			res, err := bp.History(context.Background(), "dev/pi-eu", backplane.HistoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The cursor as a previous run of bridge-eu would have stored it:
			// in the backplane's Cursors, or (a backplane without them) as
			// the newest entry of a channel per cursor.
			cur := tc.cursor(res.Position)
			const name = "bridge-eu/link/dev/pi-eu"
			if cs, ok := any(bp).(backplane.Cursors); ok {
				if err := cs.SetCursor(context.Background(), name, cur); err != nil {
					t.Fatal(err)
				}
			} else if _, err := bp.Publish(context.Background(), "bridge.cursor/"+name,
				[]byte(cur.Epoch+" "+itoa(int(cur.Offset))), backplane.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/+/+")
			b := startBridge(t, bp, mq.Addr(), linkConfig("eu", ""))
			first := wireFrames(t, wire.next(t).Payload)[0].Seq
			if first != tc.wantFirst {
				t.Errorf("first exported seq %d, want %d", first, tc.wantFirst)
			}
			if got := counter(t, b, "edgeplane_bridge_dropped_total", "reason", "history_lost"); got != tc.wantLost {
				t.Errorf("dropped{history_lost} = %v, want %v", got, tc.wantLost)
			}
		})
	}
}
