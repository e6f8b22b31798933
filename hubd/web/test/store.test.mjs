import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Device, Series, decimalsOf, formatValue, splitSampleId } from '../src/store.js';

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

test('splitSampleId tells min and max samples from sensors', () => {
  assert.deepEqual(splitSampleId('t@min'), ['t', 'min']);
  assert.deepEqual(splitSampleId('rh.2@max'), ['rh.2', 'max']);
  assert.deepEqual(splitSampleId('t'), ['t', '']);
  assert.deepEqual(splitSampleId('@min'), ['@min', '']); // no sensor id before the suffix
  assert.deepEqual(splitSampleId('t@mid'), ['t@mid', '']);
});

test('Device takes @min/@max of a minmax frame as the range of the last sample', () => {
  const d = new Device('pi-7');
  d.startDetail();
  const t0 = 1733318400123.456;
  const f = {
    seq: 1235, off: 58, t0,
    samples: [['t@max', 1000000, 21.7], ['t@min', 2000000, 21.4], ['door', 2500000, true], ['t', 3000000, 21.6]],
  };
  assert.equal(d.applyFrame(f, false, true), true);
  assert.deepEqual([...d.series.keys()].sort(), ['door', 't']);
  const t = d.series.get('t');
  assert.deepEqual([t.x, t.y, t.lo, t.hi], [[(t0 + 3000) / 1000], [21.6], [21.4], [21.7]]);
  const door = d.series.get('door');
  assert.deepEqual([door.y, door.lo, door.hi], [[1], [null], [null]]);
  assert.equal(d.last.get('t').v, 21.6);
  assert.equal(d.last.get('t@min'), undefined);

  // Without minmax (a sensor that is really called so) the ids stay sensors.
  const e = new Device('pi-8');
  e.startDetail();
  e.applyFrame({ seq: 1, off: 1, t0, samples: [['t@min', 0, 1]] }, true, false);
  assert.deepEqual([...e.series.keys()], ['t@min']);
  assert.deepEqual(e.series.get('t@min').lo, [null]);

  // lo/hi follow their samples through sort and trim.
  t.add((t0 - 5000) / 1000, 21.0, 1234, 57, 20.5, 21.2);
  t.sort();
  assert.deepEqual([t.y, t.lo, t.hi], [[21.0, 21.6], [20.5, 21.4], [21.2, 21.7]]);
});
