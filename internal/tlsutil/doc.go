// Package tlsutil serves TLS certificates from PEM files that can be
// replaced while a daemon runs: CertReloader loads a cert/key pair, hands it
// to crypto/tls through GetCertificate, and swaps it atomically on Reload
// (edgeplane-hubd calls Reload on SIGHUP). A pair that fails to load or does
// not match keeps the old certificate in service, so a half-copied renewal
// never takes a listener down.
//
// SelfSigned makes a throwaway certificate for tests and local trials.
package tlsutil
