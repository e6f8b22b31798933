// Dashboard-link codecs (docs/PROTOCOL.md, "Dashboard link"): the same
// messages as JSON objects (text frames) or CBOR maps with the same text keys
// (binary frames). The hub may batch several messages into one WebSocket
// message: JSON objects separated by "\n", or a CBOR sequence (RFC 8742).
// Client messages are always sent one per WebSocket message.
import { encode as cborEncode, decodeFirst as cborDecodeFirst } from 'cborg';

export const SUBPROTOCOL = {
  json: 'edgeplane.v1.json',
  cbor: 'edgeplane.v1.cbor',
};

// Integers above 2^53 would arrive as BigInt; the protocol's seqs and offsets
// stay far below that, so they are turned back into numbers.
const cborDecodeOptions = { allowBigInt: true, allowUndefined: true };

function unBig(v) {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (typeof v[i] === 'bigint' || typeof v[i] === 'object') v[i] = unBig(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const k in v) if (typeof v[k] === 'bigint' || typeof v[k] === 'object') v[k] = unBig(v[k]);
  }
  return v;
}

/** Encodes one client message for the given protocol ("json" or "cbor"). */
export function encode(proto, msg) {
  return proto === 'cbor' ? cborEncode(msg) : JSON.stringify(msg);
}

/**
 * Decodes one WebSocket message into the protocol messages it carries, in
 * order. data is a string (JSON) or an ArrayBuffer (CBOR). It throws on
 * undecodable input.
 */
export function decodeAll(proto, data) {
  const out = [];
  if (proto === 'cbor') {
    let rest = data instanceof Uint8Array ? data : new Uint8Array(data);
    while (rest.length > 0) {
      const [v, r] = cborDecodeFirst(rest, cborDecodeOptions);
      out.push(unBig(v));
      rest = r;
    }
    return out;
  }
  if (typeof data !== 'string') data = new TextDecoder().decode(data);
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf('\n', start);
    if (end < 0) end = data.length;
    if (end > start) {
      const line = data.slice(start, end);
      if (line.trim() !== '') out.push(JSON.parse(line));
    }
    start = end + 1;
  }
  return out;
}
