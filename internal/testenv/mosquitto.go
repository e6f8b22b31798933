package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// MosquittoOptions configure StartMosquitto. The zero value (or nil) is an
// anonymous broker without persistence.
type MosquittoOptions struct {
	// Persistence keeps sessions, subscriptions and queued QoS 1/2 messages
	// in mosquitto.db in the server's directory across Stop and Restart.
	// mosquitto writes it on shutdown and every AutosaveInterval seconds, so
	// a Kill loses what changed since the last save.
	Persistence bool
	// AutosaveInterval in seconds, with Persistence; 0 means 1.
	AutosaveInterval int
	// Config lines are appended to mosquitto.conf, e.g. "max_inflight_messages 10".
	Config []string
}

// Mosquitto is a mosquitto process started by StartMosquitto.
type Mosquitto struct {
	server
}

// StartMosquitto starts mosquitto with one anonymous listener on a free
// 127.0.0.1 port in a new temporary directory and returns once it accepts an
// MQTT CONNECT. It is killed in t.Cleanup.
func StartMosquitto(t testing.TB, opts *MosquittoOptions) *Mosquitto {
	t.Helper()
	var o MosquittoOptions
	if opts != nil {
		o = *opts
		o.Config = append([]string(nil), opts.Config...)
	}
	if o.AutosaveInterval <= 0 {
		o.AutosaveInterval = 1
	}
	m := &Mosquitto{server: server{
		t:    t,
		name: "mosquitto",
		bin:  lookBinary(t, "mosquitto", "mosquitto"),
		dir:  t.TempDir(),
	}}
	m.logPath = filepath.Join(m.dir, "mosquitto.log")
	m.config = func(port int) ([]string, error) {
		p, err := writeFile(m.dir, "mosquitto.conf", mosquittoConfig(m.dir, port, &o))
		if err != nil {
			return nil, err
		}
		return []string{"-c", p}, nil
	}
	m.probe = mqttProbe
	m.startFresh()
	return m
}

// URL is the broker's address as mqtt://127.0.0.1:port.
func (m *Mosquitto) URL() string { return "mqtt://" + m.Addr() }

func mosquittoConfig(dir string, port int, o *MosquittoOptions) string {
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"log_dest stdout",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		"connection_messages true",
	}
	if o.Persistence {
		lines = append(lines,
			"persistence true",
			"persistence_location "+dir+"/",
			"persistence_file mosquitto.db",
			fmt.Sprintf("autosave_interval %d", o.AutosaveInterval),
		)
	} else {
		lines = append(lines, "persistence false")
	}
	lines = append(lines, o.Config...)
	return strings.Join(lines, "\n") + "\n"
}

// mqttProbe sends an MQTT 3.1.1 CONNECT (clean session, empty client id)
// and expects CONNACK with return code 0.
func mqttProbe(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return err
		}
	}
	connect := []byte{
		0x10, 12, // CONNECT, remaining length
		0, 4, 'M', 'Q', 'T', 'T', 4, // protocol name, level 4 (3.1.1)
		0x02,  // clean session
		0, 10, // keep alive 10 s
		0, 0, // empty client id
	}
	if _, err := conn.Write(connect); err != nil {
		return err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		return err
	}
	if !bytes.Equal(ack, []byte{0x20, 2, 0, 0}) {
		return fmt.Errorf("testenv: unexpected CONNACK % x", ack)
	}
	_, _ = conn.Write([]byte{0xe0, 0}) // DISCONNECT
	return nil
}
