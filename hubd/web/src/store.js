// What the page knows: devices, their presence, the last value of every
// sensor, and for the device shown in detail the samples of the chosen
// window. Pure data, no DOM; the view reads it once per animation frame.

const MAX_SEQS = 200000; // seqs remembered per detailed device (dedup + gap check)

/** Sensor kinds drawn as switches that send gpio.write. */
export const ACTUATOR_KINDS = new Set(['relay', 'gpio.output']);

export function isActuator(sensor) {
  return ACTUATOR_KINDS.has(sensor.kind);
}

/**
 * Samples of one sensor: parallel arrays, kept sorted by time (x, seconds
 * since the epoch, as uPlot wants them). lo and hi are the min and max of
 * the window a merged frame stands for (minmax subscriptions), null
 * elsewhere. Out-of-order inserts (a history
 * replay arriving after live frames) are appended and sorted once, on the
 * next read.
 */
export class Series {
  constructor() {
    this.clear();
  }

  clear() {
    this.x = [];
    this.y = [];
    this.seq = [];
    this.off = [];
    this.lo = [];
    this.hi = [];
    this.unsorted = false;
  }

  add(x, y, seq, off, lo = null, hi = null) {
    const n = this.x.length;
    if (n > 0 && x < this.x[n - 1]) this.unsorted = true;
    this.x.push(x);
    this.y.push(y);
    this.seq.push(seq);
    this.off.push(off);
    this.lo.push(lo);
    this.hi.push(hi);
  }

  sort() {
    if (!this.unsorted) return;
    const idx = this.x.map((_, i) => i);
    idx.sort((a, b) => this.x[a] - this.x[b] || this.seq[a] - this.seq[b]);
    for (const k of SERIES_KEYS) {
      const a = this[k];
      this[k] = idx.map((i) => a[i]);
    }
    this.unsorted = false;
  }

  /** Drops samples older than minX, in bulk so it stays cheap. */
  trim(minX) {
    this.sort();
    const x = this.x;
    if (x.length === 0 || x[0] >= minX) return;
    let lo = 0, hi = x.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x[mid] < minX) lo = mid + 1; else hi = mid;
    }
    if (lo < 256 && lo < x.length / 8) return; // not worth a copy yet
    for (const k of SERIES_KEYS) this[k].splice(0, lo);
  }
}

const SERIES_KEYS = ['x', 'y', 'seq', 'off', 'lo', 'hi'];

/**
 * Splits the id of a sample of a minmax frame (PROTOCOL.md, sub with
 * minmax): "t@min" → ["t", "min"], "t@max" → ["t", "max"], "t" → ["t", ""].
 */
export function splitSampleId(id) {
  if (typeof id === 'string' && id.length > 4) {
    if (id.endsWith('@min')) return [id.slice(0, -4), 'min'];
    if (id.endsWith('@max')) return [id.slice(0, -4), 'max'];
  }
  return [id, ''];
}

/** Converts a sample value to a chart y (booleans draw as 0/1). */
export function yOf(v) {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  return null;
}

/** Number of decimals a resolution asks for: 0.01 → 2, 0.5 → 1, 1 → 0. */
export function decimalsOf(resolution) {
  if (!(resolution > 0)) return -1;
  return Math.max(0, Math.min(10, Math.ceil(-Math.log10(resolution) - 1e-9)));
}

/**
 * Formats a value as the agent meant it: rounded to the sensor's resolution
 * and printed in its shortest form (21.5, not 21.50 or 21.500000953).
 */
export function formatValue(v, resolution) {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v !== 'number') return v === undefined || v === null ? '–' : String(v);
  const d = decimalsOf(resolution);
  return d < 0 ? String(v) : String(Number(v.toFixed(d)));
}

export class Device {
  constructor(id) {
    this.id = id;
    this.online = false;
    this.hub = '';
    this.region = '';
    this.labels = {};
    this.sensors = [];
    this.agentVersion = '';
    this.lastSeen = 0; // ms since the epoch, 0 = never
    this.known = false; // listed by the hub's devices reply
    this.last = new Map(); // sensor id -> {t, v, seq, off, at (arrival, ms)}
    this.series = null; // Map sensor id -> Series, only while detailed
    this.seqs = null; // Map seq -> t0 of unfiltered frames, only while detailed
    this.minSeq = 0;
    this.maxSeq = 0;
    this.maxT0 = 0;
    this.seqRestarts = 0; // times the device was seen counting again
    this.dirty = true;
    this.shape = 0; // bumped when presence, labels or sensors change
  }

  update(info) {
    this.shape++;
    this.known = true;
    this.online = !!info.online;
    this.hub = info.hub || '';
    this.region = info.region || '';
    this.labels = info.labels || {};
    this.sensors = Array.isArray(info.sensors) ? info.sensors : [];
    this.agentVersion = info.agent_version || '';
    if (info.last_seen > this.lastSeen) this.lastSeen = info.last_seen;
    this.dirty = true;
  }

  sensor(id) {
    return this.sensors.find((s) => s.id === id);
  }

  /** Starts keeping every sample and seq (the device is shown in detail). */
  startDetail() {
    this.series = new Map();
    this.seqs = new Map(); // seq -> t0
    this.minSeq = 0;
    this.maxSeq = 0;
    this.maxT0 = 0;
  }

  restartSeqs() {
    this.seqs.clear();
    this.minSeq = 0;
    this.maxSeq = 0;
    this.maxT0 = 0;
    this.seqRestarts++;
  }

  stopDetail() {
    this.series = null;
    this.seqs = null;
  }

  /**
   * Applies one frame. unfiltered frames are deduplicated by seq (a history
   * replay overlapping live frames) and counted for the gap check. Returns
   * false when the frame was a duplicate.
   *
   * Dashboard frames do not carry the agent's spool id, so a device that
   * started counting again (new spool: seq 1 after a reinstall, or after a
   * restart with an in-memory queue) is recognised by its frames: a seen seq
   * with another t0, or a seq below every one seen with a t0 above every one
   * seen. Then the seq bookkeeping starts over; the samples stay.
   */
  applyFrame(f, unfiltered, minmax = false) {
    if (this.seqs && unfiltered) {
      const seenT0 = this.seqs.get(f.seq);
      if (seenT0 === f.t0) return false;
      if (seenT0 !== undefined || (this.minSeq && f.seq < this.minSeq && f.t0 > this.maxT0) || this.seqs.size >= MAX_SEQS) {
        this.restartSeqs();
      }
      this.seqs.set(f.seq, f.t0);
      if (!this.minSeq || f.seq < this.minSeq) this.minSeq = f.seq;
      if (f.seq > this.maxSeq) this.maxSeq = f.seq;
      if (f.t0 > this.maxT0) this.maxT0 = f.t0;
    }
    const samples = Array.isArray(f.samples) ? f.samples : [];
    // A minmax frame carries <sensor>@min and @max beside the last sample:
    // they become the lo/hi of that sample, not sensors of their own.
    let range = null;
    if (minmax) {
      for (const s of samples) {
        if (!Array.isArray(s) || s.length < 3) continue;
        const [sensor, ext] = splitSampleId(s[0]);
        if (!ext || typeof s[2] !== 'number') continue;
        if (!range) range = new Map();
        let r = range.get(sensor);
        if (!r) range.set(sensor, (r = { min: null, max: null }));
        r[ext] = s[2];
      }
    }
    let newest = 0;
    const at = Date.now();
    for (const s of samples) {
      if (!Array.isArray(s) || s.length < 3) continue;
      const [id, dt, v] = s;
      if (minmax && splitSampleId(id)[1]) continue;
      const t = f.t0 + dt / 1000; // ms
      if (t > newest) newest = t;
      const prev = this.last.get(id);
      if (!prev || t >= prev.t) this.last.set(id, { t, v, seq: f.seq, off: f.off, at });
      if (this.series) {
        let ser = this.series.get(id);
        if (!ser) this.series.set(id, (ser = new Series()));
        const r = range && range.get(id);
        ser.add(t / 1000, yOf(v), f.seq, f.off, r ? r.min : null, r ? r.max : null);
      }
    }
    if (newest > this.lastSeen) this.lastSeen = newest;
    this.dirty = true;
    return true;
  }

  /** Seqs missing between the lowest and highest unfiltered seq received. */
  missingSeqs(limit = 1000) {
    const out = [];
    if (!this.seqs || !this.minSeq) return out;
    for (let s = this.minSeq; s <= this.maxSeq && out.length < limit; s++) {
      if (!this.seqs.has(s)) out.push(s);
    }
    return out;
  }

  matches(filter) {
    for (const [k, v] of filter) if (this.labels[k] !== v) return false;
    return true;
  }
}
