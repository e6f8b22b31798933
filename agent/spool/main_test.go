package spool_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		// Re-executed by TestCrashKill9: append until killed.
		os.Exit(crashHelper(dir, os.Getenv(crashHelperSyncEnv)))
	}
	goleak.VerifyTestMain(m)
}
