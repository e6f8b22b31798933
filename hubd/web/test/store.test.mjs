import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Device, Series, decimalsOf, formatValue } from '../src/store.js';

test('formatValue rounds to the resolution and prints the shortest form', () => {
  const cases = [
    [21.5, 0.01, '21.5'],
    [20.8700008392334, 0.01, '20.87'], // 20.87 sent as float32
    [17.84375, 0.01, '17.84'], // a float16 within half a resolution of 17.84
    [1013.25, 0.5, '1013.3'],
    [42, 1, '42'],
    [0.1 + 0.2, 0, String(0.1 + 0.2)],
    [true, 0, 'on'],
    [false, 0, 'off'],
    [undefined, 0.01, '–'],
  ];
  for (const [v, res, want] of cases) assert.equal(formatValue(v, res), want, `${v} at ${res}`);
  assert.equal(decimalsOf(0.001), 3);
  assert.equal(decimalsOf(0), -1);
});

test('Series sorts out-of-order samples once and trims in bulk', () => {
  const s = new Series();
  for (let i = 10; i < 1000; i++) s.add(i, i, i, i);
  for (let i = 0; i < 10; i++) s.add(i, i, i, i); // a late history replay
  assert.equal(s.unsorted, true);
  s.sort();
  assert.deepEqual(s.x.slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  s.trim(500);
  assert.equal(s.x[0], 500);
  assert.equal(s.x.length, s.seq.length);
  s.trim(510); // too few to be worth a copy
  assert.equal(s.x[0], 500);
});

test('Device dedups unfiltered frames by seq and finds gaps', () => {
  const d = new Device('pi-7');
  d.startDetail();
  const f = (seq) => ({ seq, off: seq, t0: 1e12 + seq * 100, samples: [['t', 0, seq / 10], ['t', 50000, seq / 10 + 0.05]] });
  for (const seq of [1, 2, 3, 5, 6]) assert.equal(d.applyFrame(f(seq), true), true);
  assert.equal(d.applyFrame(f(3), true), false, 'duplicate');
  assert.deepEqual(d.missingSeqs(), [4]);
  assert.equal(d.applyFrame(f(4), true), true, 'late frame fills the gap');
  assert.deepEqual(d.missingSeqs(), []);
  assert.equal(d.series.get('t').x.length, 12);
  // The last value is the newest sample of the newest frame.
  assert.deepEqual({ v: d.last.get('t').v, seq: d.last.get('t').seq }, { v: 0.65, seq: 6 });
});

test('Device keeps only last values outside detail', () => {
  const d = new Device('pi-8');
  d.applyFrame({ seq: 9, off: 9, t0: 1e12, samples: [['rh', 0, 40]] }, false);
  assert.equal(d.series, null);
  assert.equal(d.last.get('rh').v, 40);
  assert.equal(d.matches(new Map([['site', 'x']])), false);
  d.labels = { site: 'x' };
  assert.equal(d.matches(new Map([['site', 'x']])), true);
});

test('Device notices a device that started counting again', () => {
  const d = new Device('pi-9');
  d.startDetail();
  const f = (seq, t0) => ({ seq, off: seq, t0, samples: [['t', 0, 1]] });
  for (let i = 1; i <= 50; i++) d.applyFrame(f(100 + i, 1e12 + i * 100), true);
  // Same seq, same t0: a replayed duplicate.
  assert.equal(d.applyFrame(f(120, 1e12 + 20 * 100), true), false);
  // A new spool: seq 1 again, later in time; not a duplicate, not a gap.
  assert.equal(d.applyFrame(f(1, 1e12 + 60 * 100), true), true);
  assert.equal(d.seqRestarts, 1);
  assert.equal(d.applyFrame(f(2, 1e12 + 61 * 100), true), true);
  assert.deepEqual(d.missingSeqs(), []);
  // A seen seq with another t0 is another frame too.
  assert.equal(d.applyFrame(f(2, 1e12 + 99 * 100), true), true);
  assert.equal(d.seqRestarts, 2);
  assert.equal(d.series.get('t').x.length, 53);
});
