package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Files is a listener's tls block in the HCL configs of hubd, the bridge
// and the agent: `tls { cert_file = "…" key_file = "…" }`. The files are
// read again on SIGHUP; a pair that does not load keeps the old one in
// service (CertReloader).
type Files struct {
	// CertFile is the PEM certificate chain, leaf first.
	CertFile string `hcl:"cert_file"`
	// KeyFile is the PEM private key of the leaf.
	KeyFile string `hcl:"key_file"`
}

// CertReloader holds the certificate of a listener, loaded from a PEM cert
// file (leaf first, then intermediates) and a PEM key file. It is safe for
// concurrent use: handshakes read the current pair while Reload replaces it.
type CertReloader struct {
	certFile, keyFile string
	log               hclog.Logger
	cert              atomic.Pointer[tls.Certificate]
}

// Options tune a CertReloader; nil is valid.
type Options struct {
	// Logger receives one line per reload (Info when it worked, Error when
	// the old certificate stays). nil discards.
	Logger hclog.Logger
}

// NewCertReloader loads certFile and keyFile; it fails when they do not
// load or do not match.
func NewCertReloader(certFile, keyFile string, opts *Options) (*CertReloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tlsutil: both a cert file and a key file are needed")
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: hclog.NewNullLogger()}
	if opts != nil && opts.Logger != nil {
		r.log = opts.Logger
	}
	c, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(c)
	return r, nil
}

func (r *CertReloader) load() (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsutil: load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	return &c, nil // LoadX509KeyPair fills Leaf
}

// Reload reads the files again and, when they load and match, serves the
// new pair from the next handshake on. On failure the old pair stays, the
// failure is logged and returned.
func (r *CertReloader) Reload() error {
	c, err := r.load()
	if err != nil {
		r.log.Error("certificate not reloaded; the old one stays in service", "error", err)
		return err
	}
	r.cert.Store(c)
	r.log.Info("certificate reloaded", "subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Leaf returns the certificate being served.
func (r *CertReloader) Leaf() *x509.Certificate { return r.cert.Load().Leaf }

// ServerConfig returns a TLS server config that serves r's certificate:
// TLS 1.2 or newer, HTTP/1.1 only (WebSocket upgrades need it).
func (r *CertReloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// SelfSigned returns a PEM certificate and key (ECDSA P-256), valid for a
// day for the given DNS names and IP addresses and usable as its own CA.
// It is meant for tests and local trials.
func SelfSigned(hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "edgeplane self-signed", SerialNumber: serial.String()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}
