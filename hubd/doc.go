// Package hubd is the edgeplane hub: it takes frames from agents, stores
// them in a backplane, and fans them out to dashboard sessions in real time.
//
// It implements the hub side of docs/PROTOCOL.md:
//
//   - "Agent link" (GET /v1/agent, subprotocol edgeplane.agent.v1): HELLO,
//     WELCOME with acked_seq, FRAMEs stored in order through
//     backplane.Broker.PublishBatch (the link's reader goes on reading while
//     its publisher stores all the frames that wait, up to 64 in one call)
//     with dedup by (device, spool id, seq), one cumulative ACK per call
//     and only after the backplane answered, COMMAND and RESULT. See
//     agent_conn.go.
//   - "Dashboard link" (GET /v1/ws, edgeplane.v1.json or edgeplane.v1.cbor):
//     auth, sub (live, history, since, sensors, max_rate), unsub, devices,
//     cmd, ping, and the presence channel. See session.go and subscribe.go.
//   - "Error codes" and "WebSocket close codes": classify in errors.go is
//     the one mapping from errors to codes.
//
// Fan-out (fanout.go): the hub holds one backplane subscription per device
// channel, reference-counted by its local subscriptions. Each publication is
// decoded once, run through each stream (the subscriptions sharing one
// filter: sensors and max_rate, see internal/window), encoded at most once
// per encoding in use, and the same bytes are queued to every session. A
// session's writer coalesces what is queued into one WebSocket message.
// Send queues are bounded; a session over its bound is closed with 1013.
//
// Commands (command.go, router.go): a cmd goes to the device's agent link on
// this hub; for a device on another hub, to a CommandRouter — by default the
// one over backplane.Hubs, which finds the hub through presence and waits
// for the result sent back.
//
// Where to start: LoadConfig, New, then Serve (or Run beside your own HTTP
// server with Handler); Shutdown drains, closing every WebSocket with 1001.
package hubd
