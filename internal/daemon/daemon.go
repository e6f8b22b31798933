// Package daemon holds what every edgeplane main does around Run: the signal
// context, SIGHUP reloads and systemd notification (READY=1, WATCHDOG=1,
// STOPPING=1).
package daemon

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// Ready tells systemd the service is up (no-op outside systemd).
func Ready() { _, _ = sd.SdNotify(false, sd.SdNotifyReady) }

// Stopping tells systemd the service is shutting down.
func Stopping() { _, _ = sd.SdNotify(false, sd.SdNotifyStopping) }

// Watchdog pings systemd's watchdog at half its interval until ctx ends, as
// long as healthy returns nil. Without a watchdog configured it returns at once.
func Watchdog(ctx context.Context, healthy func() error) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if healthy == nil || healthy() == nil {
				_, _ = sd.SdNotify(false, sd.SdNotifyWatchdog)
			}
		}
	}
}

// OnHangup calls reload on every SIGHUP (a certificate renewal, typically)
// until the returned stop is called; stop waits for a reload under way.
// Calls are serialized.
func OnHangup(reload func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-hup:
				reload()
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(quit)
		<-done
	}
}
