package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var (
	testIndex = []byte(`<!doctype html><script type="module" src="app.js?v=x"></script>` + strings.Repeat(" ", 200))
	testJS    = []byte("console.log('edgeplane');" + strings.Repeat("/* padding that compresses */", 40))
)

func hash16(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:16]
}

func testHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(fstest.MapFS{
		"index.html": {Data: testIndex},
		"app.js":     {Data: testJS},
		"app.css":    {Data: []byte("body{}")},
		"big.txt":    {Data: bytes.Repeat([]byte("edgeplane "), 100)},
		"big.txt.gz": {Data: []byte("shipped gzip")},
		".hidden":    {Data: []byte("x")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandler(t *testing.T) {
	h := testHandler(t)
	jsHash := hash16(testJS)
	tests := []struct {
		name     string
		method   string
		target   string
		header   map[string]string
		status   int
		ctype    string
		cache    string
		encoding string
		body     []byte // decoded; nil = not checked
		csp      bool
	}{
		{name: "index at root", method: "GET", target: "/", status: 200, ctype: "text/html; charset=utf-8", cache: "no-cache", body: testIndex, csp: true},
		{name: "index by name", method: "GET", target: "/index.html", status: 200, ctype: "text/html; charset=utf-8", cache: "no-cache", body: testIndex, csp: true},
		{name: "asset without hash revalidates", method: "GET", target: "/app.js", status: 200, ctype: "text/javascript; charset=utf-8", cache: "no-cache", body: testJS},
		{name: "asset with its hash is immutable", method: "GET", target: "/app.js?v=" + jsHash, status: 200, ctype: "text/javascript; charset=utf-8", cache: "public, max-age=31536000, immutable", body: testJS},
		{name: "asset with a stale hash revalidates", method: "GET", target: "/app.js?v=0000000000000000", status: 200, cache: "no-cache", body: testJS},
		{name: "gzip when accepted", method: "GET", target: "/app.js", header: map[string]string{"Accept-Encoding": "br, gzip"}, status: 200, encoding: "gzip", body: testJS},
		{name: "no gzip when refused", method: "GET", target: "/app.js", header: map[string]string{"Accept-Encoding": "gzip;q=0"}, status: 200, body: testJS},
		{name: "small file not compressed", method: "GET", target: "/app.css", header: map[string]string{"Accept-Encoding": "gzip"}, status: 200, ctype: "text/css; charset=utf-8", body: []byte("body{}")},
		{name: "shipped .gz served as is", method: "GET", target: "/big.txt", header: map[string]string{"Accept-Encoding": "gzip"}, status: 200, encoding: "gzip", body: nil},
		{name: ".gz files not served by name", method: "GET", target: "/big.txt.gz", status: 404},
		{name: "revalidation hits", method: "GET", target: "/app.js", header: map[string]string{"If-None-Match": `"` + jsHash + `"`}, status: 304},
		{name: "head has no body", method: "HEAD", target: "/", status: 200, ctype: "text/html; charset=utf-8", body: []byte{}, csp: true},
		{name: "post refused", method: "POST", target: "/", status: 405},
		{name: "unknown path", method: "GET", target: "/nope.js", status: 404},
		{name: "dot files not served", method: "GET", target: "/.hidden", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", res.Header.Get("Allow"))
			}
			if tc.status != 200 {
				return
			}
			if tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.cache != "" && res.Header.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tc.cache)
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("ETag") == "" {
				t.Errorf("missing nosniff or ETag: %v", res.Header)
			}
			if got := res.Header.Get("Content-Security-Policy") != ""; got != tc.csp {
				t.Errorf("CSP present %v, want %v", got, tc.csp)
			}
			body, _ := io.ReadAll(res.Body)
			if tc.name == "shipped .gz served as is" {
				if string(body) != "shipped gzip" {
					t.Errorf("body %q, want the shipped .gz", body)
				}
				return
			}
			if tc.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}
}

func TestGzipETagDiffers(t *testing.T) {
	h := testHandler(t)
	etag := func(ae string) string {
		req := httptest.NewRequest("GET", "/app.js", nil)
		req.Header.Set("Accept-Encoding", ae)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Header().Get("ETag")
	}
	if a, b := etag(""), etag("gzip"); a == b {
		t.Fatalf("identity and gzip share ETag %s", a)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"GZIP":                true,
		"deflate, gzip;q=0.5": true,
		"gzip;q=0":            false,
		"gzip; q=0.000":       false,
		"br":                  false,
		"x-gzip":              false,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}

// TestEmbedded checks the real embedded files: the bundle when it was
// built, else the page that says how to build it.
func TestEmbedded(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 {
		t.Fatalf("GET / = %d", rec.Code)
	}
	body := rec.Body.String()
	if Built() {
		for _, want := range []string{`src="app.js?v=`, `href="app.css?v=`} {
			if !strings.Contains(body, want) {
				t.Errorf("built index.html lacks %s", want)
			}
		}
		h := Handler()
		for _, p := range []string{"/app.js", "/app.css", "/index.html"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
			if rec.Code != 200 || rec.Body.Len() == 0 {
				t.Errorf("GET %s = %d, %d bytes", p, rec.Code, rec.Body.Len())
				continue
			}
			// The shipped .gz holds the same bytes.
			req := httptest.NewRequest("GET", p, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			zrec := httptest.NewRecorder()
			h.ServeHTTP(zrec, req)
			if zrec.Header().Get("Content-Encoding") != "gzip" {
				t.Errorf("GET %s with gzip: not compressed", p)
				continue
			}
			zr, err := gzip.NewReader(zrec.Body)
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, rec.Body.Bytes()) {
				t.Errorf("GET %s: gzip body differs from identity body (%v)", p, err)
			}
		}
		return
	}
	for _, want := range []string{"make web", "npm ci && npm run build"} {
		if !strings.Contains(body, want) {
			t.Errorf("fallback page lacks %q", want)
		}
	}
}
