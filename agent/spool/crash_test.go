package spool_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/agent/spool"
)

const (
	crashHelperEnv     = "EDGEPLANE_SPOOL_CRASH_DIR"
	crashHelperSyncEnv = "EDGEPLANE_SPOOL_CRASH_SYNC"
)

func crashOptions(dir, sync string) *spool.Options {
	return &spool.Options{Dir: dir, Sync: sync, SegmentBytes: 16 << 10, MaxBytes: 16 << 20}
}

// crashHelper runs in the re-executed test binary: it appends as fast as it
// can, printing each seq once Append returned it, and acknowledges now and
// then, until it is killed.
func crashHelper(dir, sync string) int {
	s, err := spool.Open(context.Background(), crashOptions(dir, sync))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := bufio.NewWriterSize(os.Stdout, 64)
	for {
		r, err := s.AppendFunc(payload)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Fprintf(out, "%d\n", r.Seq)
		out.Flush()
		if r.Seq%64 == 0 {
			if err := s.Ack(r.Seq - 40); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
	}
}

// TestCrashKill9 kills a process appending to the spool at random moments
// and checks, after each kill, that the seqs on disk are contiguous and
// unique, that everything Append returned is there (kill -9 keeps the page
// cache, whatever the Sync policy), and that seqs go on right after the
// last one ever handed out.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary many times")
	}
	seed := seedFor(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	dir := t.TempDir()
	const kills = 60
	next := uint64(1) // seq the next Append anywhere must get
	var total, duringOpen int
	policies := []string{"always", "5ms", "never"}
	for i := range kills {
		policy := policies[rng.IntN(len(policies))]
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir, crashHelperSyncEnv+"="+policy)
		cmd.Stderr = t.Output()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var (
			mu       sync.Mutex
			reported []uint64
			first    = make(chan struct{})
			eof      = make(chan struct{})
			wg       sync.WaitGroup
		)
		wg.Go(func() {
			defer close(eof)
			sc := bufio.NewScanner(stdout)
			once := false
			for sc.Scan() {
				seq, err := strconv.ParseUint(sc.Text(), 10, 64)
				if err != nil {
					continue // a line cut by the kill
				}
				mu.Lock()
				reported = append(reported, seq)
				mu.Unlock()
				if !once {
					once = true
					close(first)
				}
			}
		})
		// Kill at a random moment: sometimes while it opens, mostly while
		// it appends.
		if rng.IntN(8) == 0 {
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		} else {
			select {
			case <-first:
			case <-eof:
				cmd.Wait()
				t.Fatalf("kill %d: helper exited before appending: %v", i, cmd.ProcessState)
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("kill %d: helper printed nothing in 30 s", i)
			}
			time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: helper ended by itself: %v", i, err)
		}
		if len(reported) == 0 {
			duringOpen++
		}

		opts := crashOptions(dir, "never")
		opts.Logger = testLogger(t)
		s := mustOpen(t, opts)
		recs := readAll(t, s, 0)
		firstSeq := s.FirstSeq()
		for j, r := range recs {
			if r.Seq != firstSeq+uint64(j) {
				t.Fatalf("kill %d (sync %s): seqs on disk not contiguous: %d after %d", i, policy, r.Seq, recs[j-1].Seq)
			}
		}
		var last uint64
		if len(recs) > 0 {
			last = recs[len(recs)-1].Seq
		}
		if len(reported) > 0 {
			if reported[0] != next {
				t.Fatalf("kill %d (sync %s): helper's first seq %d, want %d", i, policy, reported[0], next)
			}
			if r := reported[len(reported)-1]; r > last && r >= firstSeq {
				t.Fatalf("kill %d (sync %s): seq %d was returned by Append but is not on disk (last %d)", i, policy, r, last)
			}
		}
		r := appendN(t, s, 1)[0]
		if len(recs) > 0 && r.Seq != last+1 {
			t.Fatalf("kill %d (sync %s): next seq %d after %d on disk", i, policy, r.Seq, last)
		}
		if r.Seq < next || (len(reported) > 0 && r.Seq <= reported[len(reported)-1]) {
			t.Fatalf("kill %d (sync %s): next seq %d repeats one handed out before", i, policy, r.Seq)
		}
		total += int(r.Seq - next)
		next = r.Seq + 1
		if rng.IntN(2) == 0 {
			if err := s.Ack(r.Seq - uint64(rng.IntN(int(min(r.Seq, 100))))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills (%d while opening), %d frames appended by helpers, seqs 1..%d without gap or repeat",
		kills, duringOpen, total, next-1)
}
