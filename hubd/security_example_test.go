package hubd_test

import (
	"fmt"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/auth"
)

// A hub that verifies tokens with a key built in Go rather than read from
// an auth block; peers without a token are refused (tokenless is nil).
func ExampleNewTokenAuthenticator() {
	key, err := auth.KeyConfig{ID: "2026-12", HMACSecret: "0123456789abcdef0123456789abcdef"}.Key()
	if err != nil {
		panic(err)
	}
	v, err := auth.NewVerifier([]auth.Key{key}, nil)
	if err != nil {
		panic(err)
	}
	srv, err := hubd.New(nil, &hubd.Options{Authenticator: hubd.NewTokenAuthenticator(v, nil)})
	if err != nil {
		panic(err)
	}
	fmt.Println(srv.Config().Listen)
	// Output: 127.0.0.1:8080
}
