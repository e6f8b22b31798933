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
	"io"
	"os"

	"github.com/edgeplane/edgeplane/agent"
	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/logging"
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edgeplane-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "/etc/edgeplane/agent.hcl", "configuration file (HCL)")
	check := fs.Bool("check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	hubURL := fs.String("hub-url", "", "hub agent endpoint, replacing the config's hub url (ws://host:port/v1/agent)")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	if *showVersion {
		fmt.Fprintln(stdout, "edgeplane-agent", version.Get())
		return 0
	}
	cfg, err := agent.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts := &agent.Options{Ready: daemon.Ready}
	if *hubURL != "" {
		opts.HubURLs = []string{*hubURL}
	}
	if *check {
		// The same checks as a start, without opening anything.
		if _, err := agent.New(cfg, opts); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", *configPath)
		return 0
	}

	log := logging.New(&logging.Options{Name: "edgeplane-agent", Level: cfg.LogLevel, Output: stderr})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Logger, opts.Registerer, opts.Gatherer = log, reg, reg
	a, err := agent.New(cfg, opts)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}

	ctx, stop := daemon.SignalContext(ctx)
	defer stop()
	// WATCHDOG=1 only while every sampler keeps up (a.Healthy).
	wctx, stopWatchdog := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		daemon.Watchdog(wctx, a.Healthy)
	}()

	// SIGHUP reloads the metrics listener's certificate (logged; a bad pair
	// keeps the old one).
	stopHangup := daemon.OnHangup(func() { _ = a.ReloadTLS() })
	err = a.Run(ctx)
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
