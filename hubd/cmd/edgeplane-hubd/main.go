// Command edgeplane-hubd runs an edgeplane hub: agent ingest, dashboard
// sessions and the embedded dashboard on one HTTP port.
//
//	edgeplane-hubd -config /etc/edgeplane/hubd.hcl
//	edgeplane-hubd -check -config hubd.hcl     validate and exit
//	edgeplane-hubd -listen 127.0.0.1:9000       override the listen address
//	edgeplane-hubd token -config hubd.hcl -kid K -sub pi-7 -role device -ttl 720h
//	                                            mint a token (see -h of token)
//
// SIGHUP reloads the TLS certificate and key files (a bad pair keeps the
// old one in service).
//
// It prints nothing but logs (and the -version line); with systemd it
// sends READY=1 once the listener is up, WATCHDOG=1 while it runs and
// STOPPING=1 when it drains on SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/logging"
	"github.com/edgeplane/edgeplane/internal/version"
)

func main() {
	ctx, cancel := daemon.SignalContext(context.Background())
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgeplane-hubd:", err)
		os.Exit(1)
	}
}

// run is main without the process: flags from args, logs to stderr, and
// ready (may be nil) called with the listen address once it is up.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr, time.Now())
	}
	fs := flag.NewFlagSet("edgeplane-hubd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "HCL config file (none: all defaults)")
	check := fs.Bool("check", false, "validate the config and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	listen := fs.String("listen", "", "listen address, overrides the config's listen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, "edgeplane-hubd", version.Get())
		return err
	}

	cfg := &hubd.Config{}
	if *configPath != "" {
		var err error
		if cfg, err = hubd.LoadConfig(*configPath); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log := logging.New(&logging.Options{Name: "edgeplane-hubd", Level: cfg.LogLevel, Output: stderr})
	redis.SetLibraryLogger(log.Named("go-redis"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := hubd.New(cfg, &hubd.Options{Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	if *check {
		log.Info("config is valid", srv.Config().LogValues()...)
		return nil
	}

	ln, err := net.Listen("tcp", srv.Config().Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("edgeplane-hubd starting", append([]any{"version", version.Get().String(), "addr", ln.Addr().String()}, srv.Config().LogValues()...)...)
	daemon.Ready()
	if ready != nil {
		ready(ln.Addr().String())
	}
	wctx, wcancel := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		daemon.Watchdog(wctx, nil)
	}()
	// Logged by the hub; the old certificate stays on failure.
	stopHangup := daemon.OnHangup(func() { _ = srv.ReloadTLS() })
	err = srv.Serve(ctx, ln)
	daemon.Stopping()
	stopHangup()
	wcancel()
	<-watchdogDone
	if err != nil && !errors.Is(err, hubd.ErrServerClosed) {
		return err
	}
	log.Info("edgeplane-hubd stopped")
	return nil
}
