// Command edgeplane-bridge links a region's Redis backplane to an MQTT v5
// broker: it exports the region's frames (to other regions, Home Assistant,
// anything that reads MQTT) and imports frames and third-party readings.
// See configs/bridge.hcl for its configuration.
//
//	edgeplane-bridge -config /etc/edgeplane/bridge.hcl
//	edgeplane-bridge -check -config bridge.hcl    # validate and exit
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgeplane/edgeplane/bridge"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/logging"
	"github.com/edgeplane/edgeplane/internal/version"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "/etc/edgeplane/bridge.hcl", "configuration file (HCL)")
	check := flag.Bool("check", false, "validate the configuration and exit")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println("edgeplane-bridge", version.Get())
		return 0
	}
	cfg, err := bridge.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *check {
		fmt.Printf("%s: ok (%s)\n", *configPath, cfg.Applied())
		return 0
	}

	log := logging.New(&logging.Options{Name: "edgeplane-bridge", Level: cfg.LogLevel, Format: cfg.LogFormat})
	redis.SetLibraryLogger(log.Named("go-redis"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(version.Collector())

	bp, err := redis.New(&redis.Options{
		Addrs:      cfg.Backplane.Addrs,
		Username:   cfg.Backplane.Username,
		Password:   cfg.Backplane.Password,
		Prefix:     cfg.Backplane.Prefix,
		Region:     cfg.Region,
		Logger:     log,
		Registerer: reg,
	})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer bp.Close()
	b, err := bridge.New(bp, cfg, &bridge.Options{Logger: log, Registerer: reg, Gatherer: reg})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}

	ctx, stop := daemon.SignalContext(context.Background())
	defer stop()
	wctx, stopWatchdog := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		daemon.Watchdog(wctx, func() error { return b.Ready(wctx) })
	}()
	daemon.Ready()
	// SIGHUP reloads the listener's certificate (logged; a bad pair keeps
	// the old one).
	stopHangup := daemon.OnHangup(func() { _ = b.ReloadTLS() })
	err = b.Run(ctx)
	daemon.Stopping()
	stopHangup()
	stopWatchdog()
	<-watchdogDone
	if err != nil {
		log.Error("stopped", "error", err)
		return 1
	}
	return 0
}
