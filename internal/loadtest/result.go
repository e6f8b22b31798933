package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Latency summarises a latency distribution, in milliseconds. Percentiles
// are within 3.1 % of the true value (log-linear buckets); Max and Mean
// are exact.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Result is what a run measured. Rates are over the send window (from the
// start signal until agents were told to stop); totals and the integrity
// figures cover the whole run including the drain.
type Result struct {
	Target            string  `json:"target"`
	Backplane         string  `json:"backplane"`
	Agents            int     `json:"agents"`
	Clients           int     `json:"clients"`
	ChannelsPerClient int     `json:"channels_per_client"`
	SamplesPerFrame   int     `json:"samples_per_frame"`
	Rate              float64 `json:"rate_per_agent"` // 0: as fast as ACKs allow
	Window            int     `json:"window"`
	FramesPerMessage  int     `json:"frames_per_message"`
	Proto             string  `json:"proto"`
	FullDecode        bool    `json:"full_decode"`
	GOMAXPROCS        int     `json:"gomaxprocs"`
	NumCPU            int     `json:"num_cpu"`
	// LoadAverage is the machine's 1-minute load average at the end of
	// the send window (0 where unknown).
	LoadAverage float64   `json:"load_average"`
	Started     time.Time `json:"started"`

	ConnectSeconds  float64 `json:"connect_seconds"`
	SendSeconds     float64 `json:"send_seconds"`
	DrainEndSeconds float64 `json:"drain_end_seconds"` // from the start to the last delivery (or the drain timeout)
	DrainTimedOut   bool    `json:"drain_timed_out"`

	FramesSentInWindow  uint64  `json:"frames_sent_in_window"`
	FramesAckedInWindow uint64  `json:"frames_acked_in_window"`
	DeliveriesInWindow  uint64  `json:"deliveries_in_window"`
	FramesPerSecond     float64 `json:"frames_per_second"`  // ACKed
	SamplesPerSecond    float64 `json:"samples_per_second"` // ACKed
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
	// CPUCoresInWindow is this process's CPU time over the send window
	// divided by its length: with an in-process hub it covers the hub and
	// the load generator together.
	CPUCoresInWindow float64 `json:"cpu_cores_in_window"`
	// RedisCPUCores is the same for the Redis server, from INFO cpu; 0
	// without Redis.
	RedisCPUCores float64 `json:"redis_cpu_cores,omitempty"`

	AckLatency Latency `json:"ack_latency"` // FRAME sent → its ACK read
	EndToEnd   Latency `json:"end_to_end"`  // FRAME t0 (its send time) → frame read by a dashboard

	FramesSent         uint64 `json:"frames_sent"`
	FramesAcked        uint64 `json:"frames_acked"`
	FramesUnacked      uint64 `json:"frames_unacked"` // sent, no ACK by the end of the drain
	DeliveriesExpected uint64 `json:"deliveries_expected"`
	DeliveriesReceived uint64 `json:"deliveries_received"`
	Gaps               uint64 `json:"gaps"`       // offsets skipped on a dashboard
	Duplicates         uint64 `json:"duplicates"` // offsets delivered twice to a dashboard
	Missing            uint64 `json:"missing"`    // ACKed frames a dashboard had not got by the end
	SlowConsumerCloses uint64 `json:"slow_consumer_closes"`
	Reconnects         uint64 `json:"reconnects"`
	NotRecovered       uint64 `json:"not_recovered"` // resubscriptions with since that the hub could not fill
	Resets             uint64 `json:"resets"`
}

// Check returns an error when the run lost, duplicated or did not deliver
// frames: what must be zero in every run, however loaded.
func (r *Result) Check() error {
	switch {
	case r.Gaps != 0 || r.Duplicates != 0 || r.Missing != 0:
		return fmt.Errorf("loadtest: %d gaps, %d duplicates, %d missing deliveries", r.Gaps, r.Duplicates, r.Missing)
	case r.NotRecovered != 0 || r.Resets != 0:
		return fmt.Errorf("loadtest: %d resubscriptions not recovered, %d resets", r.NotRecovered, r.Resets)
	case r.DeliveriesReceived < r.DeliveriesExpected:
		return fmt.Errorf("loadtest: %d deliveries of %d expected", r.DeliveriesReceived, r.DeliveriesExpected)
	}
	return nil
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	if err := e.Encode(r); err != nil {
		return fmt.Errorf("loadtest: write json: %w", err)
	}
	return nil
}

// WriteTable writes r as a human-readable summary table.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	rate := "as fast as ACKs allow"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g frames/s each", r.Rate)
	}
	p("target\t%s, backplane %s", r.Target, r.Backplane)
	p("load\t%d agents (%s, window %d, %d frame(s)/message, %d samples/frame); %d %s dashboards x %d channel(s)",
		r.Agents, rate, r.Window, r.FramesPerMessage, r.SamplesPerFrame, r.Clients, r.Proto, r.ChannelsPerClient)
	if r.Proto == "json" && r.Clients > 0 {
		p("\tdashboards %s", map[bool]string{true: "decode every message fully", false: "scan JSON frames for ch, off and t0"}[r.FullDecode])
	}
	p("machine\tGOMAXPROCS %d, %d CPUs, load average %.2f at the end of sending", r.GOMAXPROCS, r.NumCPU, r.LoadAverage)
	p("phases\tconnect %.2fs, send %.2fs, last delivery at %.2fs%s", r.ConnectSeconds, r.SendSeconds, r.DrainEndSeconds, map[bool]string{true: " (drain TIMED OUT)"}[r.DrainTimedOut])
	p("\t")
	p("ingest\t%.0f frames/s ACKed (%.0f samples/s); %d sent, %d ACKed in the window", r.FramesPerSecond, r.SamplesPerSecond, r.FramesSentInWindow, r.FramesAckedInWindow)
	p("fan-out\t%.0f deliveries/s at dashboards; %d in the window", r.DeliveriesPerSecond, r.DeliveriesInWindow)
	cpu := fmt.Sprintf("%.2f cores (this process)", r.CPUCoresInWindow)
	if r.RedisCPUCores > 0 {
		cpu += fmt.Sprintf(", redis-server %.2f cores", r.RedisCPUCores)
	}
	p("cpu\t%s", cpu)
	lat := func(name string, l Latency) {
		p("%s\tp50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms  (n=%d)", name, l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	}
	lat("ack latency", r.AckLatency)
	lat("end-to-end", r.EndToEnd)
	p("\t")
	p("frames\t%d sent, %d ACKed, %d un-ACKed", r.FramesSent, r.FramesAcked, r.FramesUnacked)
	p("deliveries\t%d received, %d expected (ACKed frames x subscribers)", r.DeliveriesReceived, r.DeliveriesExpected)
	p("integrity\t%d gaps, %d duplicates, %d missing, %d not recovered, %d resets", r.Gaps, r.Duplicates, r.Missing, r.NotRecovered, r.Resets)
	p("slow consumers\t%d closed with 1013, %d reconnects", r.SlowConsumerCloses, r.Reconnects)
	verdict := "OK"
	if err := r.Check(); err != nil {
		verdict = "FAILED: " + err.Error()
	}
	p("check\t%s", verdict)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("loadtest: write table: %w", err)
	}
	return nil
}
