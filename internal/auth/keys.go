package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// KeyConfig is a key as written in a config file:
//
//	key "2026-12" {
//	  hmac_secret = file("/etc/edgeplane/hmac-2026-12")   # >= 32 bytes
//	}
//	key "ops-ed25519" {
//	  ed25519_public_key = file("/etc/edgeplane/ops.pub")   # PEM or base64 (32 bytes)
//	}
type KeyConfig struct {
	ID               string `hcl:"kid,label"`
	HMACSecret       string `hcl:"hmac_secret,optional"`
	Ed25519Public    string `hcl:"ed25519_public_key,optional"`
	Ed25519Private   string `hcl:"ed25519_private_key,optional"`
	HMACSecretBase64 bool   `hcl:"hmac_secret_base64,optional"`
}

// Key turns the config into a Key.
func (kc KeyConfig) Key() (Key, error) {
	k := Key{ID: kc.ID}
	if kc.HMACSecret != "" {
		k.HMACSecret = []byte(kc.HMACSecret)
		if kc.HMACSecretBase64 {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(kc.HMACSecret))
			if err != nil {
				return Key{}, fmt.Errorf("auth: key %q: hmac_secret is not base64: %w", kc.ID, err)
			}
			k.HMACSecret = b
		}
	}
	if kc.Ed25519Public != "" {
		b, err := decodeKey(kc.Ed25519Public)
		if err != nil {
			return Key{}, fmt.Errorf("auth: key %q: ed25519_public_key: %w", kc.ID, err)
		}
		if p, ok := parsePKIX(b); ok {
			b = p
		}
		k.Public = ed25519.PublicKey(b)
	}
	if kc.Ed25519Private != "" {
		b, err := decodeKey(kc.Ed25519Private)
		if err != nil {
			return Key{}, fmt.Errorf("auth: key %q: ed25519_private_key: %w", kc.ID, err)
		}
		if p, err := x509.ParsePKCS8PrivateKey(b); err == nil {
			if ek, ok := p.(ed25519.PrivateKey); ok {
				b = ek
			}
		}
		if len(b) == ed25519.SeedSize {
			b = ed25519.NewKeyFromSeed(b)
		}
		k.Private = ed25519.PrivateKey(b)
	}
	if err := k.check(); err != nil {
		return Key{}, err
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		return blk.Bytes, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("neither PEM nor base64: %w", err)
	}
	return b, nil
}

func parsePKIX(b []byte) ([]byte, bool) {
	p, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, false
	}
	ek, ok := p.(ed25519.PublicKey)
	return ek, ok
}
