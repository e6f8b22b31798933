// Command edgeplane-agent samples a gateway's sensors and streams them to an
// edgeplane hub. See configs/agent.hcl for its configuration.
//
//	edgeplane-agent -config /etc/edgeplane/agent.hcl
//	edgeplane-agent -check -config agent.hcl    # validate and exit
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/logging"
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	os.Exit(run())
}

func run() int {
	configPath := flag.String("config", "/etc/edgeplane/agent.hcl", "configuration file (HCL)")
	check := flag.Bool("check", false, "validate the configuration and exit")
	showVersion := flag.Bool("version", false, "print the version and exit")
	hubURL := flag.String("hub-url", "", "hub agent endpoint, replacing the config's hub url (ws://host:port/v1/agent)")
	flag.Parse()

	if *showVersion {
		fmt.Println("edgeplane-agent", version.Get())
		return 0
	}
	cfg, err := agent.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *check {
		fmt.Printf("%s: ok\n", *configPath)
		return 0
	}

	log := logging.New(&logging.Options{Name: "edgeplane-agent", Level: cfg.LogLevel})
	opts := &agent.Options{Logger: log, Registerer: prometheus.DefaultRegisterer, Ready: daemon.Ready}
	if *hubURL != "" {
		opts.HubURLs = []string{*hubURL}
	}
	a, err := agent.New(cfg, opts)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}

	ctx, stop := daemon.SignalContext(context.Background())
	defer stop()
	// WATCHDOG=1 only while every sampler keeps up (a.Healthy).
	wctx, stopWatchdog := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		daemon.Watchdog(wctx, a.Healthy)
	}()

	err = a.Run(ctx)
	daemon.Stopping()
	stopWatchdog()
	<-watchdogDone
	if err != nil {
		log.Error("stopped", "error", err)
		return 1
	}
	return 0
}
