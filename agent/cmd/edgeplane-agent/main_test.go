package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("device_id = \"pi\"\nhub {\n  url = \"ws://h/v1/agent\"\n}\nflush_interval = \"soon\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		code      int
		out, errs string
	}{
		{"reference config", []string{"-check", "-config", "../../../configs/agent.hcl"}, 0, "agent.hcl: ok", ""},
		{"demo config", []string{"-check", "-config", "../../../configs/agent-demo.hcl", "-hub-url", "ws://127.0.0.1:9/v1/agent"}, 0, "agent-demo.hcl: ok", ""},
		{"bad value", []string{"-check", "-config", bad}, 1, "", "bad.hcl:5:18: invalid flush_interval"},
		{"bad hub url flag", []string{"-check", "-config", "../../../configs/agent-demo.hcl", "-hub-url", "http://x"}, 1, "", "not a ws:// or wss:// URL"},
		{"missing file", []string{"-check", "-config", filepath.Join(dir, "none.hcl")}, 1, "", "no such file"},
		{"version", []string{"-version"}, 0, "edgeplane-agent ", ""},
		{"unknown flag", []string{"-frobnicate"}, 2, "", "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errs)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errs.String(), tc.errs) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errs.String(), tc.code, tc.out, tc.errs)
			}
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errs bytes.Buffer
	// The hub is unreachable and ctx is already over: Run returns at once.
	code := run(ctx, []string{"-config", "../../../configs/agent-demo.hcl", "-hub-url", "ws://127.0.0.1:9/v1/agent"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(errs.String(), `"stopped"`) && !strings.Contains(errs.String(), "stopped") {
		t.Fatalf("no stop line in the log:\n%s", errs.String())
	}
}
