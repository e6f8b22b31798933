package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// files holds dist/ (when the bundle was built) and distfallback/; see the
// package doc for why one pattern embeds both.
//
//go:embed all:dist*
var files embed.FS

const (
	distDir     = "dist"
	fallbackDir = "distfallback"
	indexFile   = "index.html"
)

// Built reports whether the dashboard bundle was embedded at compile time.
// When it is false, Handler serves a page that says how to build it.
func Built() bool {
	_, err := fs.Stat(files, distDir+"/"+indexFile)
	return err == nil
}

// Handler returns the handler that serves the dashboard (or the page saying
// how to build it) for GET and HEAD; hubd mounts it at "/". It serves only
// the embedded files: other paths are 404, other methods 405.
func Handler() http.Handler {
	dir := fallbackDir
	if Built() {
		dir = distDir
	}
	sub, err := fs.Sub(files, dir)
	if err == nil {
		var h *handler
		if h, err = newHandler(sub); err == nil {
			return h
		}
	}
	// Unreachable with a well-formed embed; still, fail loudly per request
	// rather than at start.
	err = fmt.Errorf("web: load embedded %s: %w", dir, err)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	})
}

// asset is one file, ready to serve.
type asset struct {
	ctype string
	body  []byte
	gz    []byte // nil when compression does not pay
	hash  string // first 16 hex digits of the body's SHA-256, as build.mjs writes it
}

// handler serves a fixed set of assets; it is immutable after newHandler and
// safe for concurrent use.
type handler struct {
	assets map[string]*asset // by URL path, "/" for index.html
}

var _ http.Handler = (*handler)(nil)

// contentTypes is explicit so responses do not depend on the host's mime
// tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".map":  "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
}

func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(p, ".gz") {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{
			ctype: contentTypes[path.Ext(p)],
			body:  body,
			hash:  hex.EncodeToString(sum[:])[:16],
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if compressible(a.ctype) {
			// The build ships name.gz; compress here only what it did not.
			if gz, err := fs.ReadFile(fsys, p+".gz"); err == nil && len(gz) < len(body) {
				a.gz = gz
			} else {
				a.gz = gzipped(body)
			}
		}
		h.assets["/"+p] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if idx, ok := h.assets["/"+indexFile]; ok {
		h.assets["/"] = idx
	}
	return h, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "application/json" || ctype == "image/svg+xml"
}

// gzipped returns body compressed, or nil when that does not save at least
// a tenth.
func gzipped(body []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // the level is valid
	if _, err := zw.Write(body); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil {
		return nil
	}
	if b.Len() > len(body)*9/10 {
		return nil
	}
	return b.Bytes()
}

// pageCSP lets the page load only its own script and style and talk only to
// its own origin (the /v1/ws WebSocket). uPlot sets element styles from
// script, which style-src does not restrict.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(a.ctype, "text/html") {
		hdr.Set("Content-Security-Policy", pageCSP)
		hdr.Set("X-Frame-Options", "DENY")
	}
	switch {
	case strings.HasPrefix(a.ctype, "text/html"):
		hdr.Set("Cache-Control", "no-cache")
	case r.URL.Query().Get("v") == a.hash:
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		hdr.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, `"`+a.hash+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304, HEAD without a body and
	// Range requests; the zero time leaves Last-Modified out.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
