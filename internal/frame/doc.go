// Package frame is the wire codec of edgeplane protocol v1: every message of
// the agent link (CBOR maps with small integer keys), of the dashboard link
// (JSON objects or CBOR maps with text keys), and the stored form of a frame
// that travels through the backplane.
//
// docs/PROTOCOL.md is the normative text; each encoder and decoder names the
// section it follows. Decoders are strict: they enforce Limits while they
// read (size, nesting, array length, map pairs, and the expanded samples of
// a frame), reject missing required keys, ill-typed fields, duplicate keys
// and indefinite lengths, and ignore unknown keys. Their errors wrap one of
// ErrUndecodable (close 1007), ErrInvalid (ERROR 400, close 1008) or
// ErrTooLarge (ERROR 413, close 1009); ErrorCode maps them to protocol codes
// in one place. Error texts name the message and the field:
// "frame: FRAME: missing required key 3 (samples)".
//
// Encoders are deterministic (integer keys ascending, shortest heads) and
// append to a caller's buffer without allocating on the hot paths
// (AppendServer of a frame, AppendAgent of a FRAME apart from its grouping).
// A sample Value carries its resolution: Rounded rounds through the decimal,
// CBOR encoders pick the shortest float within half the resolution, JSON
// prints the rounded decimal. FRAME samples of one sensor taken on a regular
// period travel as a series (FRAME key 4, PROTOCOL.md "Samples and series"),
// which keeps a realistic frame under 5 bytes a sample; decoders expand
// series and return samples in the order SortSamples defines.
//
// Where to start: AppendAgent and DecodeAgent for the agent link,
// DecodeClient and AppendServer for the hub side of the dashboard link
// (AppendClient and DecodeServer for clients), AppendStored and DecodeStored
// for the backplane payload; ValidDeviceID, DeviceChannel and ChannelDevice
// for names.
//
// All functions are safe for concurrent use; values passed in are only read.
package frame
