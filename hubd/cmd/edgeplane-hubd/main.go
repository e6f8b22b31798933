// Command edgeplane-hubd runs an edgeplane hub: agent ingest, dashboard
// sessions and the embedded dashboard on one HTTP port.
//
//	edgeplane-hubd -config /etc/edgeplane/hubd.hcl
//	edgeplane-hubd -check -config hubd.hcl     validate and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/logging"
	"github.com/edgeplane/edgeplane/internal/version"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "edgeplane-hubd:", err)
		os.Exit(1)
	}
}

func run() error {
	configPath := flag.String("config", "", "HCL config file (none: all defaults)")
	check := flag.Bool("check", false, "validate the config and exit")
	showVersion := flag.Bool("version", false, "print the version and exit")
	listen := flag.String("listen", "", "listen address, overrides the config's listen")
	flag.Parse()
	if *showVersion {
		fmt.Println("edgeplane-hubd", version.Get())
		return nil
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
	log := logging.New(&logging.Options{Name: "edgeplane-hubd", Level: cfg.LogLevel})

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

	ctx, cancel := daemon.SignalContext(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", srv.Config().Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("edgeplane-hubd starting", append([]any{"version", version.Get().String(), "addr", ln.Addr().String()}, srv.Config().LogValues()...)...)
	daemon.Ready()
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		daemon.Watchdog(ctx, nil)
	}()
	err = srv.Serve(ctx, ln)
	daemon.Stopping()
	cancel()
	<-watchdogDone
	if err != nil && !errors.Is(err, hubd.ErrServerClosed) {
		return err
	}
	log.Info("edgeplane-hubd stopped")
	return nil
}
