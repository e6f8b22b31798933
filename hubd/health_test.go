package hubd_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestHTTPEndpoints(t *testing.T) {
	h := startHub(t, nil)
	base := "http://" + h.addr
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", http.StatusOK, "ok"},
		{"/readyz", http.StatusOK, "ready"},
		{"/metrics", http.StatusOK, "edgeplane_hub_frames_in_total 0"},
		{"/metrics", http.StatusOK, `edgeplane_hub_slow_consumers_total{reason="queue_bytes"} 0`},
		{"/metrics", http.StatusOK, `edgeplane_build_info{goversion="go`},
		{"/", http.StatusOK, "<"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			status, body := httpGet(t, base+tc.path)
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("GET %s: %d %q, want %d containing %q", tc.path, status, body, tc.status, tc.body)
			}
		})
	}
}

func TestMetricNames(t *testing.T) {
	h := startHub(t, nil)
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "edgeplane_hub_") || strings.HasPrefix(p.Metric, "edgeplane_build") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	for _, name := range []string{"edgeplane_hub_agents", "edgeplane_hub_sessions", "edgeplane_hub_frames_in_total",
		"edgeplane_hub_deliveries_total", "edgeplane_hub_slow_consumers_total", "edgeplane_hub_duplicates_total", "edgeplane_build_info"} {
		found := false
		for _, mf := range mfs {
			found = found || mf.GetName() == name
		}
		if !found {
			t.Errorf("metric %s missing", name)
		}
	}
}
