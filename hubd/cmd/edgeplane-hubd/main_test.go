package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCheckAndVersion(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"version", []string{"-version"}, "", "edgeplane-hubd "},
		{"check example", []string{"-check", "-config", "../../../configs/hubd.hcl"}, "", ""},
		{"check with a bad listen override", []string{"-check", "-config", "../../../configs/hubd.hcl", "-listen", "0.0.0.0:80"}, "invalid allow_anonymous", ""},
		{"missing file", []string{"-check", "-config", "nope.hcl"}, "no such file", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut, nil)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("stdout %q", out.String())
			}
		})
	}
}

// TestServeAndStop starts the daemon on a free port, checks /healthz and
// stops it like SIGTERM does.
func TestServeAndStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-config", "../../../configs/hubd.hcl", "-listen", "127.0.0.1:0"}, &bytes.Buffer{}, t.Output(), func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop")
	}
}
