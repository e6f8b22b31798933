// Package auth mints and verifies edgeplane's access tokens: JWTs signed with
// HMAC-SHA256 or Ed25519, with the key selected by the `kid` header so keys
// rotate without downtime (verify with old and new, sign with the new, drop
// the old once its tokens expired).
//
// Claims: sub (the device id for device tokens), role (device, dashboard,
// bridge, admin), ch (channel patterns a dashboard may read), cmd (device
// patterns it may command), exp. Patterns use path.Match syntax over the
// channel or device id, e.g. "dev/berlin-*" or "pi-?".
//
// Token is a string type that never prints itself: fmt, hclog (text or JSON)
// and encoding/json all see "[redacted]".
package auth
