// Unit tests of the page's pure modules: node --test (npm test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode as cborEncode } from 'cborg';
import { decodeAll, encode } from '../src/codec.js';

const frame = { op: 'frame', ch: 'dev/pi-7', off: 58, device: 'pi-7', seq: 1234, t0: 1733318400123.456, samples: [['t', 0, 21.5]] };
const ok = { op: 'ok', id: 1, ch: 'dev/pi-7', epoch: 'e1', off: 57 };

test('JSON: one message per line, in order, blank lines ignored', () => {
  const text = JSON.stringify(ok) + '\n' + JSON.stringify(frame) + '\n\n';
  assert.deepEqual(decodeAll('json', text), [ok, frame]);
});

test('JSON: a single message without newline', () => {
  assert.deepEqual(decodeAll('json', JSON.stringify(frame)), [frame]);
});

test('JSON: undecodable input throws', () => {
  assert.throws(() => decodeAll('json', '{"op":'));
});

test('CBOR: a sequence of maps decodes to every message, in order', () => {
  const a = cborEncode(ok);
  const b = cborEncode(frame);
  const seq = new Uint8Array(a.length + b.length);
  seq.set(a);
  seq.set(b, a.length);
  assert.deepEqual(decodeAll('cbor', seq.buffer), [ok, frame]);
});

test('CBOR: half and single floats decode to their values', () => {
  // {"v": 21.5 as float16} and {"v": 0.1 as float32}
  const half = Uint8Array.from([0xa1, 0x61, 0x76, 0xf9, 0x4d, 0x60]);
  assert.deepEqual(decodeAll('cbor', half), [{ v: 21.5 }]);
  const single = Uint8Array.from([0xa1, 0x61, 0x76, 0xfa, 0x3d, 0xcc, 0xcc, 0xcd]);
  assert.ok(Math.abs(decodeAll('cbor', single)[0].v - 0.1) < 1e-7);
});

test('CBOR: 64-bit integers come back as numbers', () => {
  const big = Uint8Array.from([0xa1, 0x63, 0x73, 0x65, 0x71, 0x1b, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(decodeAll('cbor', big), [{ seq: 2 ** 32 }]);
});

test('CBOR: truncated input throws', () => {
  assert.throws(() => decodeAll('cbor', cborEncode(frame).slice(0, 10)));
});

test('encode: JSON text and CBOR bytes of the same message', () => {
  const msg = { op: 'cmd', id: 4, device: 'pi-7', name: 'gpio.write', args: { pin: 'relay1', level: true } };
  assert.equal(encode('json', msg), JSON.stringify(msg));
  assert.deepEqual(decodeAll('cbor', encode('cbor', msg)), [msg]);
});
