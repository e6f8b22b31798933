package tlsutil_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writePair(t *testing.T, dir string) (certFile, keyFile string, certPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certPEM
}

// served returns the serial of the certificate a TLS handshake with
// ln's server sees, trusting only pool.
func served(t *testing.T, ln net.Listener, pool *x509.CertPool) string {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pem1 := writePair(t, dir)
	r, err := tlsutil.NewCertReloader(certFile, keyFile, &tlsutil.Options{Logger: hclog.New(&hclog.LoggerOptions{Output: t.Output()})})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(raw, r.ServerConfig())
	defer ln.Close()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem1)
	first := served(t, ln, pool)
	if first != r.Leaf().SerialNumber.String() {
		t.Fatalf("served %s, loaded %s", first, r.Leaf().SerialNumber)
	}

	// A new pair is served after Reload.
	_, _, pem2 := writePair(t, dir)
	pool.AppendCertsFromPEM(pem2)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	second := served(t, ln, pool)
	if second == first || second != r.Leaf().SerialNumber.String() {
		t.Fatalf("after reload served %s (before %s)", second, first)
	}

	// Broken files: Reload fails and the old pair stays.
	cases := map[string]func(){
		"garbage cert": func() { os.WriteFile(certFile, []byte("not a certificate"), 0o600) },
		"key of another cert": func() {
			_, keyPEM, _ := tlsutil.SelfSigned("localhost")
			os.WriteFile(certFile, pem2, 0o600)
			os.WriteFile(keyFile, keyPEM, 0o600)
		},
		"missing key": func() { os.Remove(keyFile) },
	}
	for name, breakIt := range cases {
		breakIt()
		if err := r.Reload(); err == nil {
			t.Fatalf("%s: Reload succeeded", name)
		}
		if got := served(t, ln, pool); got != second {
			t.Fatalf("%s: served %s, want the old %s", name, got, second)
		}
	}
}

func TestNewFails(t *testing.T) {
	if _, err := tlsutil.NewCertReloader("", "", nil); err == nil {
		t.Fatal("no files: no error")
	}
	if _, err := tlsutil.NewCertReloader("/nonexistent/cert.pem", "/nonexistent/key.pem", nil); err == nil {
		t.Fatal("missing files: no error")
	}
}
