// Command edgeplane-load puts a hub under load with simulated agents and
// dashboards over real WebSockets, and prints what it measured.
//
//	edgeplane-load -inprocess -agents 100 -clients 100 -duration 10s
//	edgeplane-load -inprocess -redis 127.0.0.1:7000 -agents 1000 -window 16
//	edgeplane-load -url http://127.0.0.1:8080 -agents 10 -rate 100 -json out.json
//
// It exits 1 when the run fails or a dashboard missed or got twice a frame.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/edgeplane/edgeplane/internal/daemon"
	"github.com/edgeplane/edgeplane/internal/loadtest"
	"github.com/edgeplane/edgeplane/internal/logging"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "edgeplane-load:", err)
		os.Exit(1)
	}
}

func run() error {
	var c loadtest.Config
	flag.StringVar(&c.URL, "url", "", "hub base URL, e.g. http://127.0.0.1:8080")
	flag.BoolVar(&c.InProcess, "inprocess", false, "start a hub in this process instead of dialing -url")
	flag.StringVar(&c.RedisAddr, "redis", "", "with -inprocess: Redis host:port for the hub's backplane (default: memory)")
	flag.IntVar(&c.RedisPublishLanes, "redis-lanes", 0, "with -redis: pipelines in flight per Redis server (0: the backplane's default)")
	flag.BoolVar(&c.CrossHub, "crosshub", false, "with -inprocess -redis: two hubs, agents on the first, dashboards on the second")
	flag.IntVar(&c.HistorySize, "history", loadtest.DefaultHistorySize, "with -inprocess: history per channel")
	flag.IntVar(&c.Agents, "agents", loadtest.DefaultAgents, "simulated agents (one device each)")
	flag.IntVar(&c.SamplesPerFrame, "samples", loadtest.DefaultSamplesPerFrame, "samples per FRAME")
	flag.Float64Var(&c.Rate, "rate", 0, "FRAMEs per second per agent; 0 = as fast as the ACK window allows")
	flag.IntVar(&c.Window, "window", loadtest.DefaultWindow, "un-ACKed FRAMEs an agent may have in flight")
	flag.IntVar(&c.FramesPerMessage, "batch", 1, "FRAMEs per WebSocket message (a CBOR sequence)")
	flag.IntVar(&c.Clients, "clients", loadtest.DefaultClients, "dashboard connections")
	flag.IntVar(&c.ChannelsPerClient, "channels", 1, "device channels each dashboard subscribes to")
	flag.StringVar(&c.Proto, "proto", "json", "dashboard encoding: json or cbor")
	flag.BoolVar(&c.FullDecode, "full-decode", false, "JSON dashboards decode every message fully instead of scanning frames for ch, off and t0")
	flag.DurationVar(&c.Duration, "duration", loadtest.DefaultDuration, "how long agents send")
	flag.DurationVar(&c.DrainTimeout, "drain", loadtest.DefaultDrainTimeout, "bound on waiting for the last ACKs, then the last deliveries")
	flag.DurationVar(&c.ConnectTimeout, "connect-timeout", loadtest.DefaultConnectTimeout, "bound on connecting and subscribing")
	flag.StringVar(&c.AgentToken, "agent-token", "", "bearer token for agent links (default: none)")
	flag.StringVar(&c.ClientToken, "client-token", "", "bearer token for dashboards (default: none)")
	flag.StringVar(&c.DevicePrefix, "device-prefix", loadtest.DefaultDevicePrefix, "start of every simulated device id")
	jsonOut := flag.String("json", "", "also write the result as JSON to this file (- for stdout, after the table)")
	logLevel := flag.String("log-level", "warn", "log level of the tool and the in-process hub")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (tool and in-process hub) to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run (tool and in-process hub) to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	log := logging.New(&logging.Options{Name: "edgeplane-load", Level: *logLevel})
	r, err := loadtest.New(&c, &loadtest.Options{Logger: log})
	if err != nil {
		return err
	}
	ctx, cancel := daemon.SignalContext(context.Background())
	defer cancel()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := r.Run(ctx)
	if err != nil {
		return err
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		return err
	}
	switch *jsonOut {
	case "":
	case "-":
		if err := res.WriteJSON(os.Stdout); err != nil {
			return err
		}
	default:
		f, err := os.Create(*jsonOut)
		if err != nil {
			return fmt.Errorf("json: %w", err)
		}
		if err := res.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("json: %w", err)
		}
	}
	return res.Check()
}

// writeHeapProfile writes the allocations since the start (pprof's
// alloc_space and alloc_objects views) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	return nil
}
