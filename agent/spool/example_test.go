package spool_test

import (
	"context"
	"fmt"
	"os"

	"github.com/edgeplane/edgeplane/agent/spool"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// The sampler appends, the uplink reads what follows the hub's ack and
// acknowledges; FirstSeq and ID go into HELLO.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "spool-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := spool.Open(ctx, &spool.Options{Dir: dir, Sync: "1s"})
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		f := &frame.Frame{T0: 1733318400e9 + int64(i)*1e9, Samples: []frame.Sample{
			{Sensor: "t", Value: frame.Rounded(21.5, 0.01)},
		}}
		if _, err := s.Append(f); err != nil {
			panic(err)
		}
	}
	recs, _ := s.Next(0, 100, 1<<20) // what to send after WELCOME's acked_seq 0
	fmt.Println("send", len(recs), "frames, seqs", recs[0].Seq, "to", recs[len(recs)-1].Seq)
	s.Ack(2) // the hub's ACK 2
	fmt.Println("first seq", s.FirstSeq())
	s.Close()

	s, _ = spool.Open(ctx, &spool.Options{Dir: dir})
	defer s.Close()
	fmt.Println("after restart: first seq", s.FirstSeq(), "records", s.Stats().Records)
	// Output:
	// send 3 frames, seqs 1 to 3
	// first seq 3
	// after restart: first seq 3 records 1
}
