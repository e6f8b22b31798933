// Package bridge carries frames between a region's backplane and an MQTT v5
// broker (docs/DESIGN.md, "Regions and the bridge"): it links regions to
// each other, and edgeplane to the MQTT world (Home Assistant, Node-RED,
// Tasmota).
//
// Where to start: LoadConfig (configs/bridge.hcl documents every field),
// New, then Run.
//
// # Export
//
// An export block selects device channels (by id, or by presence labels)
// and publishes their frames with QoS 1 to topics made from a template,
// default edgeplane/<region>/<device>/<sensor>. Payloads: json (one message
// per sample: value, t in unix ms with µs precision, seq, unit), value (the
// bare reading) or cbor (whole frames in their stored form, see
// frame.AppendStored, several back to back per message as an RFC 8742 CBOR
// sequence). It also publishes, retained, each device's metadata
// (<device topic>/$meta), its availability (<device topic>/$availability:
// online/offline from presence) and, with a homeassistant block, one Home
// Assistant discovery config per sensor
// (homeassistant/sensor/<node>/<object>/config).
//
// Export is driven by the channel's history, never by an in-memory queue.
// Per exported channel the bridge keeps a cursor: the offset up to which
// the broker acknowledged (PUBACK). It reads what follows the cursor with
// Broker.History, publishes it, and moves the cursor over what was
// acknowledged; the cursor lives in the backplane (backplane.Cursors when
// the backplane has it, else a small channel per cursor), so a bridge
// restart or a broker outage resumes from it. What was sent and not
// acknowledged is sent again: delivery is at least once, and the importing
// side drops repeats by spool id and seq. When the cursor cannot be resumed
// (the channel's epoch changed because its history was lost, or the frames
// after the cursor were trimmed) the export starts again at the oldest
// frame the channel still holds, and counts what it knows to be lost in
// edgeplane_bridge_dropped_total{reason="history_lost"}.
//
// In flight: at most mqtt.in_flight messages await PUBACK at once, over all
// channels; one channel has one message (a cbor batch, or the samples of
// one frame) in flight at a time, which keeps its frames in order on the
// wire.
//
// # Import
//
// An import block subscribes to a topic pattern (tele/<device>/SENSOR) and
// maps each message to a frame on dev/<device>: the value from a bare
// payload, from JSON fields by path (BME280.Temperature), or whole edgeplane
// frames from a cbor payload. Edgeplane frames keep device id, spool id and
// seq, so Publish's dedup shows a frame once however often it arrives, also
// through two bridges. Third-party readings get a spool id made by the
// bridge per device and process, with seqs counting from 1. Imported devices
// are announced in presence (hub = the bridge's id, region = their origin)
// so that dashboards list them; they go offline presence_ttl after their
// last message. A cbor import also subscribes to <topic>/$meta, the
// exporting bridge's retained device metadata, so that another region's
// devices are listed with their sensors (kind, unit, resolution), labels
// and agent version, and go offline when their region says so. A message is
// acknowledged only after its frames are stored.
//
// # Loop prevention
//
// Every exported message carries the MQTT v5 user property
// edgeplane-origin = the exporting region. An import drops messages whose
// origin is its own region. Frames it stores keep their origin beside them
// in presence: the device is announced with region = origin and the label
// edgeplane.origin = origin (the label stays when the entry goes offline and
// the region is no longer shown). An export never publishes frames or
// metadata of a device whose region or origin label names another region.
// That is the smallest honest place: the stored frame format stays as it
// is, and the decision is per device, which is what a frame's origin is.
// Subscriptions also set MQTT v5 No Local, so a bridge does not even receive
// its own exports.
package bridge
