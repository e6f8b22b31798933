package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a token's holder is.
type Role string

const (
	RoleDevice    Role = "device"    // opens the agent link of device sub, publishes only that device
	RoleDashboard Role = "dashboard" // reads channels matching ch, commands devices matching cmd
	RoleBridge    Role = "bridge"    // links a backplane to MQTT: reads and publishes every channel
	RoleAdmin     Role = "admin"     // everything
)

func (r Role) valid() bool {
	switch r {
	case RoleDevice, RoleDashboard, RoleBridge, RoleAdmin:
		return true
	}
	return false
}

// Verification failures; every error Verify returns wraps one of them.
var (
	ErrNoToken = errors.New("auth: no token")
	ErrExpired = errors.New("auth: token expired")
	ErrInvalid = errors.New("auth: invalid token")
)

// Token is a bearer token. It redacts itself in every text form; call
// Reveal where the token itself is needed.
type Token string

func (Token) String() string                  { return "[redacted]" }
func (Token) GoString() string                { return "auth.Token([redacted])" }
func (Token) MarshalText() ([]byte, error)    { return []byte("[redacted]"), nil }
func (t Token) Reveal() string                { return string(t) }
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("[redacted]")) }

// Claims are a token's claims.
type Claims struct {
	jwt.RegisteredClaims
	Role     Role     `json:"role"`
	Channels []string `json:"ch,omitempty"`
	Commands []string `json:"cmd,omitempty"`
}

// Key is one signing or verifying key, named by its kid.
type Key struct {
	ID string
	// Exactly one of the following is set. An Ed25519 key with only the
	// public half verifies but cannot mint.
	HMACSecret []byte
	Public     ed25519.PublicKey
	Private    ed25519.PrivateKey
}

func (k Key) check() error {
	n := 0
	if len(k.HMACSecret) > 0 {
		n++
		if len(k.HMACSecret) < 32 {
			return fmt.Errorf("auth: key %q: HMAC secret of %d bytes; use at least 32", k.ID, len(k.HMACSecret))
		}
	}
	if k.Public != nil || k.Private != nil {
		n++
		if k.Private != nil && len(k.Private) != ed25519.PrivateKeySize {
			return fmt.Errorf("auth: key %q: bad ed25519 private key size %d", k.ID, len(k.Private))
		}
		if k.Public != nil && len(k.Public) != ed25519.PublicKeySize {
			return fmt.Errorf("auth: key %q: bad ed25519 public key size %d", k.ID, len(k.Public))
		}
	}
	if n != 1 {
		return fmt.Errorf("auth: key %q: give exactly one of an HMAC secret or an ed25519 key", k.ID)
	}
	if k.ID == "" {
		return errors.New("auth: key without an id (kid)")
	}
	return nil
}

func (k Key) public() ed25519.PublicKey {
	if k.Public != nil {
		return k.Public
	}
	return k.Private.Public().(ed25519.PublicKey)
}

// Identity is a verified token's holder.
type Identity struct {
	Subject  string
	Role     Role
	Channels []string
	Commands []string
	Expires  time.Time // zero: no expiry
}

// CanPublish reports whether the holder may publish frames of device.
func (id *Identity) CanPublish(device string) bool {
	switch id.Role {
	case RoleDevice:
		return id.Subject == device
	case RoleBridge, RoleAdmin:
		return true
	}
	return false
}

// CanRead reports whether the holder may subscribe to channel ch.
func (id *Identity) CanRead(ch string) bool {
	switch id.Role {
	case RoleBridge, RoleAdmin:
		return true
	case RoleDashboard:
		return matchAny(id.Channels, ch)
	}
	return false
}

// CanCommand reports whether the holder may send commands to device.
func (id *Identity) CanCommand(device string) bool {
	switch id.Role {
	case RoleAdmin:
		return true
	case RoleDashboard:
		return matchAny(id.Commands, device)
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, s); err == nil && ok {
			return true
		}
	}
	return false
}

// Verifier checks tokens against a set of keys. It is safe for concurrent use.
type Verifier struct {
	keys   map[string]Key
	now    func() time.Time
	leeway time.Duration
}

// VerifierOptions tune a Verifier; nil means the defaults.
type VerifierOptions struct {
	Leeway time.Duration    // clock skew allowed on exp/nbf; default 30s
	Now    func() time.Time // clock; default time.Now
}

// NewVerifier returns a Verifier that accepts tokens signed by any of keys.
func NewVerifier(keys []Key, opts *VerifierOptions) (*Verifier, error) {
	v := &Verifier{keys: map[string]Key{}, now: time.Now, leeway: 30 * time.Second}
	if opts != nil {
		if opts.Now != nil {
			v.now = opts.Now
		}
		if opts.Leeway > 0 {
			v.leeway = opts.Leeway
		}
	}
	for _, k := range keys {
		if err := k.check(); err != nil {
			return nil, err
		}
		if _, dup := v.keys[k.ID]; dup {
			return nil, fmt.Errorf("auth: key id %q given twice", k.ID)
		}
		v.keys[k.ID] = k
	}
	if len(v.keys) == 0 {
		return nil, errors.New("auth: no keys")
	}
	return v, nil
}

// Verify checks tok's signature, kid, expiry and claims.
func (v *Verifier) Verify(tok Token) (*Identity, error) {
	if tok == "" {
		return nil, ErrNoToken
	}
	var c Claims
	_, err := jwt.ParseWithClaims(tok.Reveal(), &c, v.keyFunc,
		jwt.WithValidMethods([]string{"HS256", "EdDSA"}),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !c.Role.valid() {
		return nil, fmt.Errorf("%w: unknown role %q", ErrInvalid, c.Role)
	}
	if c.Role == RoleDevice && c.Subject == "" {
		return nil, fmt.Errorf("%w: device token without sub", ErrInvalid)
	}
	id := &Identity{Subject: c.Subject, Role: c.Role, Channels: c.Channels, Commands: c.Commands}
	if c.ExpiresAt != nil {
		id.Expires = c.ExpiresAt.Time
	}
	return id, nil
}

func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := v.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if k.HMACSecret == nil {
			return nil, fmt.Errorf("kid %q is not an HMAC key", kid)
		}
		return k.HMACSecret, nil
	case *jwt.SigningMethodEd25519:
		if k.HMACSecret != nil {
			return nil, fmt.Errorf("kid %q is not an ed25519 key", kid)
		}
		return k.public(), nil
	}
	return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
}

// Mint signs claims with key (HS256 or EdDSA by the key's kind).
func Mint(key Key, c Claims) (Token, error) {
	if err := key.check(); err != nil {
		return "", err
	}
	if !c.Role.valid() {
		return "", fmt.Errorf("auth: mint: unknown role %q", c.Role)
	}
	var t *jwt.Token
	var signKey any
	switch {
	case key.HMACSecret != nil:
		t, signKey = jwt.NewWithClaims(jwt.SigningMethodHS256, c), key.HMACSecret
	case key.Private != nil:
		t, signKey = jwt.NewWithClaims(jwt.SigningMethodEdDSA, c), key.Private
	default:
		return "", fmt.Errorf("auth: mint: key %q has only a public half", key.ID)
	}
	t.Header["kid"] = key.ID
	s, err := t.SignedString(signKey)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return Token(s), nil
}
