package bridge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/internal/testenv"
)

// TestTLSClientCertAndPassword: the bridge reaches a broker listener that
// requires TLS with a client certificate and a username and password, and
// exports through it.
func TestTLSClientCertAndPassword(t *testing.T) {
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not found; install it with: sudo apt-get install -y mosquitto")
	}
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	newCert(t, dir, "client", ca, caKey)
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-b", "-c", pwFile, "bridge", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	mq := testenv.StartMosquitto(t, &testenv.MosquittoOptions{Config: []string{
		"user root", // see TestBrokerKillDuringExport
		"password_file " + pwFile,
		fmt.Sprintf("listener %d 127.0.0.1", tlsPort),
		"cafile " + filepath.Join(dir, "ca.pem"),
		"certfile " + filepath.Join(dir, "server.pem"),
		"keyfile " + filepath.Join(dir, "server.key"),
		"require_certificate true",
	}})
	bp := newSharedBackplane(t)
	a := newAgent(t, bp, "pi-7", "eu", nil)
	a.send(t)
	wire := startSubscriber(t, mq.Addr(), "wire", "edgeplane/+/+/t")
	startBridge(t, bp, mq.Addr(), fmt.Sprintf(`
region = "eu"
backplane {
  addrs = ["unused:1"]
}
mqtt {
  urls      = ["mqtts://127.0.0.1:%d"]
  ca_file   = %q
  cert_file = %q
  key_file  = %q
  username  = "bridge"
  password  = "s3cret"
}
export "x" {
  meta = false
}
`, tlsPort, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")))
	if m := wire.next(t); m.Topic != "edgeplane/eu/pi-7/t" {
		t.Fatalf("got %s", m.Topic)
	}
}

// newCert writes <name>.pem and <name>.key into dir: a CA when parent is
// nil, else a certificate for 127.0.0.1 signed by parent.
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
