// The dashboard's logic: connection, subscriptions and recovery, devices and
// presence, commands. Rendering is left to the View, called at most once per
// animation frame.
import { Conn } from './conn.js';
import { Device, isActuator } from './store.js';

export const WINDOWS = [
  { s: 60, label: '1 min' },
  { s: 300, label: '5 min' },
  { s: 900, label: '15 min' },
  { s: 3600, label: '1 h' },
];

// Overview tiles show the last values only: one merged frame per second per
// device, and at most TILE_SENSORS sensors, is all they can show.
const OVERVIEW_MAX_RATE = 1;
export const TILE_SENSORS = 8;
// A detail chart draws at most this many frames per window; longer windows
// ask the hub to merge frames (max_rate) instead of replaying them all.
const DETAIL_FRAME_BUDGET = 6000;
const HISTORY_MAX = 10000;
const DEVICES_REFRESH_MS = 30000;

const TOKEN_KEY = 'edgeplane.token';
const PROTO_KEY = 'edgeplane.proto';

class Sub {
  constructor(ch, device) {
    this.ch = ch;
    this.device = device;
    this.cur = null; // {mode, key, filtered, gen} of the subscription in force
    this.busy = false;
    this.epoch = '';
    this.off = 0; // newest offset received in epoch
    this.hasPos = false; // epoch+off can be used with since
    this.liveFrom = 0; // frames with off above this are live, not replayed
  }
}

export class App {
  constructor({ location, storage, view }) {
    this.view = view;
    this.storage = storage;
    this.devices = new Map();
    this.subs = new Map();
    this.selected = '';
    this.windowS = 60;
    this.labelFilter = new Map(); // key -> value, all must match
    this.gen = 0; // connection generation, bumped on each ready
    this.notices = []; // {kind, ch, text, at}
    this.resets = []; // {ch, epoch, kind: "reset"|"unrecovered", at}
    this.commands = []; // {id, device, pin, level, ok, result, error, at}
    this.errors = [];
    this.lastError = '';
    this.hubInfo = { hub: '', region: '' };
    this.stats = { frames: 0, framesPerSec: 0, latencyMs: null, latencyAvgMs: null, draws: 0, duplicates: 0 };
    this.framesThisSecond = 0;
    this.pendingNewest = 0;
    this.drawPending = false;
    this.listDirty = true;
    this.connDirty = true;

    const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = frag.get('token');
    if (token !== null) {
      storage.setItem(TOKEN_KEY, token);
      frag.delete('token');
      const rest = frag.toString();
      history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    }
    const proto = frag.get('proto') || storage.getItem(PROTO_KEY) || 'json';
    if (frag.get('device')) this.selected = frag.get('device');
    // overview_rate=N overrides the tiles' max_rate (0: unfiltered); for
    // measuring what the page can take.
    this.overviewRate = frag.has('overview_rate') ? Math.max(0, Number(frag.get('overview_rate')) || 0) : OVERVIEW_MAX_RATE;
    const w = Number(frag.get('window'));
    if (WINDOWS.some((x) => x.s === w)) this.windowS = w;

    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.conn = new Conn({
      url: `${scheme}://${location.host}/v1/ws`,
      proto: proto === 'cbor' ? 'cbor' : 'json',
      token: () => this.storage.getItem(TOKEN_KEY) || '',
      onMessage: (m) => this.onMessage(m),
      onReady: () => this.onReady(),
      onState: (state, detail) => this.onConnState(state, detail),
    });
  }

  start() {
    this.conn.start();
    this.tick = setInterval(() => this.everySecond(), 1000);
    this.refresh = setInterval(() => this.refreshDevices(), DEVICES_REFRESH_MS);
  }

  get proto() {
    return this.conn.proto;
  }

  hasToken() {
    return !!this.storage.getItem(TOKEN_KEY);
  }

  login(token) {
    this.storage.setItem(TOKEN_KEY, token.trim());
    this.lastError = '';
    this.conn.restart();
  }

  logout() {
    this.storage.removeItem(TOKEN_KEY);
    this.conn.restart();
  }

  setProto(p) {
    this.storage.setItem(PROTO_KEY, p);
    this.conn.proto = p;
    this.conn.restart(); // subscriptions recover with since on the new link
  }

  error(text) {
    this.lastError = text;
    this.errors.push({ at: Date.now(), text });
    if (this.errors.length > 100) this.errors.shift();
    this.connDirty = true;
    this.invalidate();
  }

  notice(kind, ch, text) {
    this.notices = this.notices.filter((n) => n.ch !== ch || n.kind !== kind);
    this.notices.push({ kind, ch, text, at: Date.now() });
    if (this.notices.length > 5) this.notices.shift();
    this.connDirty = true;
    this.invalidate();
  }

  // ---- connection

  onConnState(state, detail) {
    if (detail && detail.error) this.error(detail.error);
    if (state === 'waiting' && detail.close) {
      const c = detail.close;
      this.lastClose = c;
      if (c.code !== 1000 && c.code !== 1001 && c.code !== 1006) this.error(`hub closed the connection: ${c.code} ${c.reason || ''}`.trim());
    }
    if (state === 'unauthorized') this.lastError = detail.reason || 'not authorized';
    this.connDirty = true;
    this.invalidate();
  }

  async onReady() {
    this.gen++;
    // A hub may name itself in the auth reply (optional "hub", "region").
    const r = this.conn.authReply;
    this.hubInfo = { hub: (r && r.hub) || '', region: (r && r.region) || '' };
    const gen = this.gen;
    // presence first, so that no change between the devices reply and the
    // presence subscription is missed.
    try {
      await this.conn.request({ op: 'sub', ch: 'presence' });
    } catch (err) {
      // A link that dropped meanwhile says so itself; onReady runs again.
      if (gen === this.gen && this.conn.state === 'ready') this.error(`sub presence: ${err.message}`);
    }
    if (gen !== this.gen) return;
    await this.refreshDevices();
    if (gen !== this.gen) return;
    this.reconcileAll();
  }

  async refreshDevices() {
    if (this.conn.state !== 'ready') return;
    let reply;
    try {
      reply = await this.conn.request({ op: 'devices' });
    } catch (err) {
      if (this.conn.state === 'ready') this.error(`devices: ${err.message}`);
      return;
    }
    for (const info of reply.devices || []) {
      if (!info || typeof info.id !== 'string') continue;
      this.device(info.id).update(info);
    }
    this.listDirty = true;
    this.reconcileAll();
    this.invalidate();
  }

  device(id) {
    let d = this.devices.get(id);
    if (!d) {
      d = new Device(id);
      this.devices.set(id, d);
      this.listDirty = true;
    }
    return d;
  }

  scheduleDevicesRefresh() {
    if (this.refreshSoon) return;
    this.refreshSoon = setTimeout(() => {
      this.refreshSoon = 0;
      this.refreshDevices();
    }, 300);
  }

  // ---- messages the hub sends unasked

  onMessage(m) {
    if (!m || typeof m !== 'object') return;
    switch (m.op) {
      case 'frame':
        this.onFrame(m);
        break;
      case 'presence': {
        const d = this.device(m.device);
        const was = d.online;
        d.online = !!m.online;
        d.hub = m.online ? m.hub || '' : '';
        d.region = m.online ? m.region || '' : '';
        if (was && !d.online) d.lastSeen = Math.max(d.lastSeen, Date.now());
        d.shape++;
        d.dirty = true;
        if (!d.known || d.online !== was) this.scheduleDevicesRefresh();
        this.invalidate();
        break;
      }
      case 'reset': {
        const sub = this.subs.get(m.ch);
        this.resets.push({ ch: m.ch, epoch: m.epoch, kind: 'reset', at: Date.now() });
        // Tiles show last values only; a lost history matters to charts.
        const charted = sub && sub.cur && sub.cur.mode === 'detail';
        if (charted) this.notice('reset', m.ch, `history of ${m.ch} was lost (hub backplane reset): the chart may have a hole`);
        if (sub) {
          sub.epoch = m.epoch;
          sub.off = 0;
          sub.liveFrom = 0;
          sub.hasPos = true;
          // What the new epoch already holds (an agent resending its spool)
          // may fill the hole: ask for it again.
          if (charted) this.refill(sub);
        }
        break;
      }
      case 'error':
        this.error(`hub error ${m.code}: ${m.message}`);
        break;
      default:
        break;
    }
  }

  onFrame(m) {
    this.stats.frames++;
    this.framesThisSecond++;
    if (typeof m.device !== 'string') return;
    const d = this.device(m.device);
    const sub = this.subs.get(m.ch);
    const unfiltered = !!(sub && sub.cur && !sub.cur.filtered && sub.cur.mode === 'detail');
    if (sub && sub.cur) {
      if (m.off > sub.off) sub.off = m.off;
      sub.hasPos = true;
    }
    const minmax = !!(sub && sub.cur && sub.cur.minmax);
    if (!d.applyFrame(m, unfiltered, minmax)) {
      this.stats.duplicates++;
      return;
    }
    if (sub && m.off > sub.liveFrom) {
      let newest = 0;
      for (const s of m.samples || []) if (s[1] > newest) newest = s[1];
      const t = m.t0 + newest / 1000;
      if (t > this.pendingNewest) this.pendingNewest = t;
    }
    this.invalidate();
  }

  // ---- subscriptions

  visible(d) {
    return d.matches(this.labelFilter);
  }

  desiredFor(d) {
    if (d.id === this.selected) {
      const W = this.windowS;
      let fps = 10;
      const periods = d.sensors.map((s) => s.period_ms).filter((p) => p > 0);
      if (periods.length) fps = Math.max(0.1, 1000 / Math.min(...periods));
      const params = {};
      if (W * fps <= DETAIL_FRAME_BUDGET) {
        params.history = Math.min(HISTORY_MAX, Math.ceil(W * fps * 1.2) + 10);
      } else {
        params.history = DETAIL_FRAME_BUDGET;
        params.max_rate = Math.round((DETAIL_FRAME_BUDGET / W) * 100) / 100;
        params.minmax = true; // what the merging hides, drawn as a band
      }
      return { mode: 'detail', params, key: `detail:${W}:${JSON.stringify(params)}` };
    }
    if (!this.visible(d)) return null;
    const params = { history: 1 };
    if (this.overviewRate > 0) params.max_rate = this.overviewRate;
    if (d.sensors.length > TILE_SENSORS) {
      params.sensors = tileSensors(d).map((s) => s.id);
    }
    return { mode: 'overview', params, key: `overview:${JSON.stringify(params)}` };
  }

  reconcileAll() {
    for (const d of this.devices.values()) this.reconcile(d);
  }

  reconcile(d) {
    if (this.conn.state !== 'ready') return;
    const ch = `dev/${d.id}`;
    let sub = this.subs.get(ch);
    const want = this.desiredFor(d);
    if (!sub) {
      if (!want) return;
      sub = new Sub(ch, d.id);
      this.subs.set(ch, sub);
    }
    if (sub.busy) return; // re-checked when the running change ends
    const live = sub.cur && sub.cur.gen === this.gen;
    if (live && want && sub.cur.key === want.key) return;
    if (!live && !want) {
      sub.cur = null;
      if (d.series) d.stopDetail();
      return;
    }
    sub.busy = true;
    this.changeSub(sub, d, want, live).catch((err) => {
      if (this.conn.state === 'ready') this.error(`sub ${ch}: ${err.message}`);
    }).finally(() => {
      sub.busy = false;
      if (this.conn.state === 'ready') this.reconcile(d);
    });
  }

  async changeSub(sub, d, want, live) {
    const gen = this.gen;
    // Only a detail view recovers with since: an overview tile shows the last
    // values, which a fresh history:1 gives at once.
    const resume = !live && sub.cur && want && want.mode === 'detail' && sub.cur.key === want.key && sub.hasPos;
    if (live) {
      await this.conn.request({ op: 'unsub', ch: sub.ch });
      sub.cur = null;
    }
    if (!want) {
      if (d.series) d.stopDetail();
      sub.cur = null;
      sub.hasPos = false;
      return;
    }
    if (gen !== this.gen) return;
    if (!resume) {
      // A new view of the channel: start from its history.
      if (want.mode === 'detail') d.startDetail();
      else if (d.series) d.stopDetail();
      sub.hasPos = false;
    }
    const ok = await this.subscribe(sub, want, resume);
    if (resume && ok.recovered !== true) {
      this.resets.push({ ch: sub.ch, epoch: ok.epoch, kind: 'unrecovered', at: Date.now() });
      this.notice('reset', sub.ch, `history of ${sub.ch} could not be recovered after reconnecting (hub restarted or history trimmed): refilled from what the hub still holds`);
      await this.conn.request({ op: 'unsub', ch: sub.ch });
      sub.cur = null;
      if (gen !== this.gen) return;
      await this.subscribe(sub, want, false);
    }
  }

  subscribe(sub, want, resume) {
    const msg = { op: 'sub', ch: sub.ch, ...want.params };
    if (resume) {
      delete msg.history;
      msg.since = { epoch: sub.epoch, off: sub.off };
    }
    const gen = this.gen;
    return this.conn.request(msg, (ok) => {
      // Synchronous: the frames batched after this ok belong to it.
      sub.cur = { mode: want.mode, key: want.key, filtered: !!ok.filtered || 'max_rate' in want.params || 'sensors' in want.params, minmax: !!want.params.minmax, gen, epoch: ok.epoch };
      if (sub.epoch !== ok.epoch) {
        sub.epoch = ok.epoch || '';
        sub.off = 0;
      }
      sub.liveFrom = ok.off || 0;
      if (!msg.history && !msg.since) {
        sub.off = ok.off || 0;
        sub.hasPos = true;
      }
      if (resume && ok.recovered !== true) sub.hasPos = false;
    });
  }

  /** Subscribes again with history, keeping what the page holds (dedup by seq). */
  refill(sub) {
    if (!sub.cur || sub.busy) return;
    const d = this.devices.get(sub.device);
    const want = d && this.desiredFor(d);
    if (!want) return;
    sub.busy = true;
    const run = async () => {
      await this.conn.request({ op: 'unsub', ch: sub.ch });
      sub.cur = null;
      await this.subscribe(sub, want, false);
    };
    run().catch((err) => {
      if (this.conn.state === 'ready') this.error(`refill ${sub.ch}: ${err.message}`);
    }).finally(() => {
      sub.busy = false;
      if (d && this.conn.state === 'ready') this.reconcile(d);
    });
  }

  select(id) {
    if (this.selected === id) return;
    const prev = this.selected && this.devices.get(this.selected);
    this.selected = id;
    if (prev) this.reconcile(prev);
    if (id) {
      const d = this.device(id);
      d.dirty = true;
      this.reconcile(d);
    }
    this.listDirty = true;
    this.invalidate();
  }

  setWindow(s) {
    this.windowS = s;
    const d = this.selected && this.devices.get(this.selected);
    if (d) this.reconcile(d);
    this.invalidate();
  }

  toggleLabel(k, v) {
    if (this.labelFilter.get(k) === v) this.labelFilter.delete(k);
    else this.labelFilter.set(k, v);
    this.listDirty = true;
    this.reconcileAll();
    this.invalidate();
  }

  // ---- commands

  async command(deviceId, pin, level) {
    const entry = { id: 0, device: deviceId, pin, level, ok: null, result: null, error: '', at: Date.now() };
    this.commands.push(entry);
    if (this.commands.length > 100) this.commands.shift();
    const d = this.device(deviceId);
    d.dirty = true;
    this.invalidate();
    try {
      const r = await this.conn.request({ op: 'cmd', device: deviceId, name: 'gpio.write', args: { pin, level } });
      entry.ok = !!r.ok;
      entry.result = r.result === undefined ? null : r.result;
      entry.error = r.ok ? '' : r.error || 'failed';
    } catch (err) {
      entry.ok = false;
      entry.error = err.message;
    }
    entry.doneAt = Date.now();
    d.dirty = true;
    this.invalidate();
    return entry;
  }

  lastCommand(deviceId, pin) {
    for (let i = this.commands.length - 1; i >= 0; i--) {
      const c = this.commands[i];
      if (c.device === deviceId && c.pin === pin) return c;
    }
    return null;
  }

  // ---- drawing

  everySecond() {
    this.stats.framesPerSec = this.framesThisSecond;
    this.framesThisSecond = 0;
    this.connDirty = true;
    for (const d of this.devices.values()) if (!d.online) d.dirty = true; // "last seen" ages
    this.invalidate();
  }

  invalidate() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.drawPending = false;
    this.stats.draws++;
    this.view.render(this);
    if (this.pendingNewest) {
      const lat = Date.now() - this.pendingNewest;
      this.pendingNewest = 0;
      this.stats.latencyMs = lat;
      this.stats.latencyAvgMs = this.stats.latencyAvgMs === null ? lat : this.stats.latencyAvgMs * 0.9 + lat * 0.1;
    }
  }
}

/** The sensors a tile shows: actuators first, then the others, at most TILE_SENSORS. */
export function tileSensors(d) {
  const act = d.sensors.filter(isActuator);
  const rest = d.sensors.filter((s) => !isActuator(s));
  return act.concat(rest).slice(0, TILE_SENSORS);
}
