package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

// WriteCertPair writes a new self-signed certificate for 127.0.0.1 to
// certFile and its key to keyFile, and returns a pool that trusts it.
func WriteCertPair(t testing.TB, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// CheckTLSReload checks a listener at addr that serves GET path over TLS
// with the pair in certFile and keyFile, trusted by ca: plain HTTP is not
// served; after a new pair is written and reload called, new connections
// get the new certificate and not the old one; a broken key file makes
// reload fail and keeps the new pair in service.
func CheckTLSReload(t testing.TB, addr, path, certFile, keyFile string, ca *x509.CertPool, reload func() error) {
	t.Helper()
	get := func(scheme string, pool *x509.CertPool) (int, error) {
		cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
		}}
		resp, err := cl.Get(scheme + "://" + addr + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("https", ca); err != nil || code != http.StatusOK {
		t.Fatalf("https %s: %d, %v", path, code, err)
	}
	if code, err := get("http", nil); err == nil && code == http.StatusOK {
		t.Fatal("plain HTTP served beside TLS")
	}
	newCA := WriteCertPair(t, certFile, keyFile)
	if err := reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if code, err := get("https", newCA); err != nil || code != http.StatusOK {
		t.Fatalf("after the reload, trusting the new CA: %d, %v", code, err)
	}
	if _, err := get("https", ca); err == nil {
		t.Fatal("after the reload, the old certificate is still served")
	}
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reload(); err == nil {
		t.Fatal("reload of a broken pair returned nil")
	}
	if code, err := get("https", newCA); err != nil || code != http.StatusOK {
		t.Fatalf("after a failed reload: %d, %v", code, err)
	}
}
