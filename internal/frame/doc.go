// Package frame is the wire codec of edgeplane protocol v1: every message of
// the agent link (CBOR maps with small integer keys) and of the dashboard link
// (JSON objects or CBOR maps with text keys), plus the stored form of a frame
// that travels through the backplane.
//
// docs/PROTOCOL.md is the normative text; each encoder and decoder names the
// section it follows. Decoders are strict: they enforce Limits, reject missing
// required keys and ill-typed fields, and ignore unknown keys. Their errors wrap
// one of ErrUndecodable (close 1007), ErrInvalid (ERROR 400, close 1008) or
// ErrTooLarge (ERROR 413, close 1009), so that callers map them to close codes
// in one place with errors.Is.
//
// Where to start: AppendAgent and DecodeAgent for the agent link,
// DecodeClient and AppendServer for the dashboard link, AppendStored and
// DecodeStored for the backplane payload.
package frame
