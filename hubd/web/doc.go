// Package web serves the edgeplane dashboard, the browser page that hubd
// mounts at "/". The page talks to the hub only through the public dashboard
// protocol on /v1/ws of the same origin (docs/PROTOCOL.md, "Dashboard link").
//
// # Source and bundle
//
// The page's source is modern JavaScript in src/ (ES modules; uPlot draws the
// charts, cborg encodes and decodes the CBOR subprotocol). esbuild bundles it
// into dist/ (index.html, app.js, app.css, and a .gz of each):
//
//	cd hubd/web && npm ci && npm run build
//
// dist/ is never committed, and neither is any third-party code: npm ci
// installs exact versions from package-lock.json.
//
// # Building without the bundle
//
// A go:embed pattern must match at least one file, so embedding dist/ alone
// would break every Go build made before the bundle. The package therefore
// embeds the single pattern "all:dist*", which matches both dist/ (when it
// exists) and the committed distfallback/, a one-page explanation of how to
// build the dashboard. Handler serves dist/ when it holds an index.html and
// distfallback/ otherwise; Built tells which. No build tag is needed, a plain
// go build or go test works in a fresh clone, and a build after npm run build
// embeds the bundle (the Go build cache keys on embedded file contents).
//
// # Caching
//
// index.html is served with Cache-Control: no-cache and an ETag, so a browser
// revalidates it and sees a new hub's page at once. The build writes the
// content hash of app.js and app.css into index.html as ?v=<hash>; Handler
// computes the same hash and, when a request carries it, serves the asset as
// immutable for a year. Without it an asset is served with no-cache and an
// ETag. Text assets are sent gzip-compressed to clients that accept it: the
// build writes name.gz beside each file, and Handler compresses at start only
// what has none (the fallback page).
//
// # Test and debug hook
//
// The page exposes its state on window.edgeplane (connection state, devices,
// received samples with seq and off per device and sensor, missing seqs,
// resets, command results, last error; see src/debug.js). It exists for the
// end-to-end tests in e2e/ (headless Chromium driven by playwright-core, run
// by e2e_test.go) and for debugging from the browser console; it is not an
// API and may change with the page.
package web
