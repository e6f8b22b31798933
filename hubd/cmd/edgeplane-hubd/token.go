package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/auth"
)

// patterns is a repeatable flag of ch or cmd patterns (also comma lists).
type patterns []string

func (p *patterns) String() string { return strings.Join(*p, ",") }
func (p *patterns) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*p = append(*p, v)
		}
	}
	return nil
}

// runToken mints a token with a key of the config's auth block and prints
// it on stdout:
//
//	edgeplane-hubd token -config hubd.hcl -kid 2026-12 -sub pi-7 -role device -ttl 720h
//	edgeplane-hubd token -config hubd.hcl -kid 2026-12 -sub ops -role dashboard -ch 'dev/*' -ch presence -cmd 'pi-*'
func runToken(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("edgeplane-hubd token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "HCL config file whose auth block holds the key (required)")
	kid := fs.String("kid", "", "key to sign with (a key \"kid\" block; required)")
	sub := fs.String("sub", "", "subject: the device id for -role device")
	role := fs.String("role", "", "device, dashboard, bridge or admin (required)")
	ttl := fs.Duration("ttl", 720*time.Hour, "lifetime of the token")
	var ch, cmd patterns
	fs.Var(&ch, "ch", "channel pattern a dashboard may read, e.g. 'dev/berlin-*' or presence (repeatable)")
	fs.Var(&cmd, "cmd", "device pattern a dashboard may command, e.g. 'relay-*' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *configPath == "" || *kid == "" || *role == "" {
		return errors.New("token: -config, -kid and -role are required")
	}
	if *ttl <= 0 {
		return errors.New("token: -ttl must be positive")
	}
	r := auth.Role(*role)
	if r == auth.RoleDevice && *sub == "" {
		return errors.New("token: a device token needs -sub <device id>")
	}
	if r != auth.RoleDashboard && (len(ch) > 0 || len(cmd) > 0) {
		return fmt.Errorf("token: -ch and -cmd apply to dashboard tokens only, not %s", r)
	}
	cfg, err := hubd.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if cfg.Auth == nil {
		return fmt.Errorf("token: %s has no auth block", *configPath)
	}
	var key auth.Key
	found := false
	for _, kc := range cfg.Auth.Keys {
		if kc.ID == *kid {
			if key, err = kc.Key(); err != nil {
				return fmt.Errorf("token: %w", err)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("token: %s has no key %q", *configPath, *kid)
	}
	tok, err := auth.Mint(key, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   *sub,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)),
		},
		Role:     r,
		Channels: ch,
		Commands: cmd,
	})
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tok.Reveal())
	return err
}
