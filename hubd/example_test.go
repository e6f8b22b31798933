package hubd_test

import (
	"context"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd"
)

// A hub on the in-memory backplane, serving until interrupted; Serve
// drains (1001 to every WebSocket) before it returns.
func ExampleServer_Serve() {
	cfg, err := hubd.LoadConfig("configs/hubd.hcl")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := hubd.New(cfg, &hubd.Options{
		Logger:     hclog.New(&hclog.LoggerOptions{Name: "edgeplane-hubd"}),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", srv.Config().Listen)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil {
		log.Fatal(err)
	}
}
