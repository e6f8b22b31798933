// Package agent is edgeplane's edge agent: it samples sensors, batches the
// samples into frames, keeps the frames in a queue until a hub acknowledges
// them, and runs the hub's commands on actuators.
//
//	sensors --sample--> batcher --FRAME--> queue (memory or agent/spool) --> uplink --> hub
//	actuators <------------------------------ COMMAND / RESULT ------------ uplink <-- hub
//
// Concepts:
//   - Sampling: every sensor is read on its own period, on ticks aligned to
//     multiples of the period, and each reading is stamped with its tick, so
//     samples are evenly spaced. Event sensors (GPIO edges) also deliver
//     readings as they happen.
//   - Batching: the readings of every sensor are sealed into one FRAME per
//     flush_interval, or sooner at max_samples, values rounded to each
//     sensor's resolution.
//   - Queue: frames are appended to an agent/queue.Queue before they are
//     sent: the bounded memory queue, or the disk spool when the config has a
//     spool block. A full queue drops its oldest frames, counted.
//   - Uplink: the agent link of docs/PROTOCOL.md ("Agent link"): HELLO,
//     WELCOME (whose acked_seq says where to resume), FRAMEs in a bounded
//     in-flight window, cumulative ACKs, reconnects with exponential backoff
//     and full jitter, failover between hub URLs.
//   - Commands: gpio.write, gpio.read, sensor.interval and agent.info; each
//     command id runs at most once.
//
// Where to start: LoadConfig reads an HCL file (configs/agent.hcl documents
// every key), New checks it, Run does the work until its context ends.
package agent
