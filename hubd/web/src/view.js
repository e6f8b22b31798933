// DOM rendering. render() runs at most once per animation frame and only
// touches what changed since the last one (tiles of dirty devices, charts
// whose series grew).
import { Chart } from './chart.js';
import { formatValue, isActuator } from './store.js';
import { WINDOWS, tileSensors } from './app.js';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function ago(ms) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

const STATE_TEXT = {
  idle: 'not connected',
  connecting: 'connecting',
  authenticating: 'logging in',
  ready: 'connected',
  waiting: 'reconnecting',
  stopped: 'stopped',
  unauthorized: 'login needed',
};

// actuatorLevel is what a switch shows: the newer of the level the device
// last reported (a sample of the actuator's channel) and the level of the
// last command that succeeded.
function actuatorLevel(d, s, app) {
  const last = d.last.get(s.id);
  const c = app.lastCommand(d.id, s.id);
  const cmdAt = c && c.ok ? c.doneAt : 0;
  if (last && last.at >= cmdAt) return typeof last.v === 'boolean' ? last.v : Number(last.v) !== 0;
  return !!(c && c.ok && c.level);
}

export class View {
  constructor(doc) {
    this.doc = doc;
    const $ = (id) => doc.getElementById(id);
    this.el = {
      conn: $('conn'), connText: $('conn-text'), notices: $('notices'), login: $('login'),
      loginForm: $('login-form'), tokenInput: $('token-input'), loginError: $('login-error'),
      proto: $('proto'), logout: $('logout'), filters: $('filters'), tiles: $('tiles'), count: $('device-count'),
      detail: $('detail'), detailTitle: $('detail-title'), detailMeta: $('detail-meta'), detailClose: $('detail-close'),
      window: $('window'), actuators: $('actuators'), charts: $('charts'),
    };
    this.tiles = new Map(); // device id -> element
    this.detailFor = '';
    this.detailSensors = '';
    this.charts = new Map(); // sensor id -> {chart, card, valueEl, lastLen, lastX}
    this.actuatorEls = new Map();
    this.noticesShown = -1;
  }

  bind(app) {
    const el = this.el;
    el.proto.value = app.proto;
    el.proto.addEventListener('change', () => app.setProto(el.proto.value));
    el.logout.addEventListener('click', () => app.logout());
    el.loginForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = el.tokenInput.value.trim();
      if (t) {
        el.tokenInput.value = '';
        app.login(t);
      }
    });
    for (const w of WINDOWS) {
      const o = this.doc.createElement('option');
      o.value = String(w.s);
      o.textContent = w.label;
      el.window.append(o);
    }
    el.window.value = String(app.windowS);
    el.window.addEventListener('change', () => app.setWindow(Number(el.window.value)));
    el.tiles.addEventListener('click', (ev) => {
      const chip = ev.target.closest('[data-label-k]');
      if (chip) {
        app.toggleLabel(chip.dataset.labelK, chip.dataset.labelV);
        return;
      }
      const tile = ev.target.closest('[data-device]');
      if (tile) app.select(tile.dataset.device === app.selected ? '' : tile.dataset.device);
    });
    el.tiles.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      const tile = ev.target.closest('[data-device]');
      if (tile) {
        ev.preventDefault();
        app.select(tile.dataset.device === app.selected ? '' : tile.dataset.device);
      }
    });
    el.filters.addEventListener('click', (ev) => {
      const chip = ev.target.closest('[data-label-k]');
      if (chip) app.toggleLabel(chip.dataset.labelK, chip.dataset.labelV);
    });
    el.detailClose.addEventListener('click', () => app.select(''));
    el.actuators.addEventListener('click', (ev) => {
      const sw = ev.target.closest('[data-pin]');
      if (!sw || sw.disabled) return;
      const d = app.devices.get(app.selected);
      if (!d) return;
      const s = d.sensor(sw.dataset.pin);
      if (s) app.command(d.id, s.id, !actuatorLevel(d, s, app));
    });
    el.notices.addEventListener('click', (ev) => {
      if (ev.target.closest('button')) {
        app.notices = [];
        app.connDirty = true;
        app.invalidate();
      }
    });
  }

  render(app) {
    if (app.connDirty) {
      app.connDirty = false;
      this.renderConn(app);
    }
    if (app.listDirty) {
      app.listDirty = false;
      this.renderList(app);
    }
    for (const d of app.devices.values()) {
      if (!d.dirty) continue;
      const tile = this.tiles.get(d.id);
      if (tile && !tile.hidden) this.renderTile(app, d, tile);
      if (d.id !== app.selected) d.dirty = false;
    }
    this.renderDetail(app);
  }

  renderConn(app) {
    const c = app.conn;
    const el = this.el;
    el.conn.dataset.state = c.state;
    const parts = [STATE_TEXT[c.state] || c.state, location.host];
    if (app.hubInfo.hub) parts.push(app.hubInfo.hub);
    parts.push(c.proto.toUpperCase());
    if (c.state === 'ready') {
      parts.push(`${app.stats.framesPerSec} frames/s`);
      if (app.stats.latencyAvgMs !== null) parts.push(`latency ${Math.round(app.stats.latencyAvgMs)} ms`);
    }
    el.connText.textContent = parts.join(' · ');
    el.conn.title = app.lastError ? `last error: ${app.lastError}` : '';
    el.login.hidden = c.state !== 'unauthorized';
    if (!el.login.hidden) el.loginError.textContent = app.lastError || 'This hub needs a token.';
    el.logout.hidden = !app.hasToken();
    if (el.proto.value !== c.proto) el.proto.value = c.proto;
    if (this.noticesShown !== app.notices.length || app.notices.length) {
      this.noticesShown = app.notices.length;
      el.notices.innerHTML = app.notices.length
        ? app.notices.map((n) => `<div class="notice" data-kind="${esc(n.kind)}">${esc(n.text)} <small>${esc(new Date(n.at).toLocaleTimeString())}</small></div>`).join('') + '<button type="button" class="dismiss">dismiss</button>'
        : '';
    }
  }

  renderList(app) {
    const el = this.el;
    // Label filter chips: every key=value seen on a device.
    const pairs = new Map();
    for (const d of app.devices.values()) for (const [k, v] of Object.entries(d.labels)) pairs.set(`${k}=${v}`, [k, v]);
    const sorted = [...pairs.values()].sort((a, b) => (a[0] + a[1]).localeCompare(b[0] + b[1]));
    el.filters.innerHTML = sorted.length
      ? '<span class="muted">Filter:</span> ' + sorted.map(([k, v]) => `<button type="button" class="chip" data-label-k="${esc(k)}" data-label-v="${esc(v)}" aria-pressed="${app.labelFilter.get(k) === v}">${esc(k)}=${esc(v)}</button>`).join('')
      : '';
    const ids = [...app.devices.keys()].sort();
    let shown = 0;
    let prev = null;
    for (const id of ids) {
      const d = app.devices.get(id);
      let tile = this.tiles.get(id);
      if (!tile) {
        tile = this.doc.createElement('article');
        tile.className = 'tile';
        tile.dataset.device = id;
        tile.tabIndex = 0;
        this.tiles.set(id, tile);
      }
      if (tile.parentNode !== el.tiles || tile.previousSibling !== prev) {
        if (prev) prev.after(tile); else el.tiles.prepend(tile);
      }
      prev = tile;
      const vis = app.visible(d) || id === app.selected;
      tile.hidden = !vis;
      tile.classList.toggle('selected', id === app.selected);
      if (vis) {
        shown++;
        d.dirty = true;
      }
    }
    el.count.textContent = `${shown} of ${ids.length} devices`;
  }

  // renderTile rebuilds a tile's markup only when its shape changed
  // (presence, labels, sensors); otherwise it rewrites the few text nodes
  // whose value changed, so that 50 live tiles cost no layout of the grid.
  renderTile(app, d, tile) {
    const shown = tileSensors(d);
    if (tile.shape !== d.shape) {
      tile.shape = d.shape;
      tile.dataset.online = String(d.online);
      const labels = Object.entries(d.labels).map(([k, v]) => `<button type="button" class="chip small" data-label-k="${esc(k)}" data-label-v="${esc(v)}">${esc(k)}=${esc(v)}</button>`).join('');
      const rows = shown.map((s) => `<li data-sensor="${esc(s.id)}"><span class="sid">${esc(s.id)}</span><span class="v">–</span><span class="unit">${esc(s.unit || '')}</span></li>`).join('');
      const more = d.sensors.length > shown.length ? `<li class="muted">+${d.sensors.length - shown.length} more</li>` : '';
      tile.innerHTML = `<header><span class="badge" data-online="${d.online}">${d.online ? 'online' : 'offline'}</span><h3>${esc(d.id)}</h3></header>`
        + '<div class="where muted"></div>'
        + (labels ? `<div class="labels">${labels}</div>` : '')
        + `<ul class="values">${rows}${more}</ul>`;
      tile.whereEl = tile.querySelector('.where');
      tile.valueEls = [...tile.querySelectorAll('.values .v')];
    }
    const where = d.online ? [d.hub, d.region].filter(Boolean).join(' · ') : `last seen ${ago(d.lastSeen)}`;
    if (tile.whereEl.textContent !== where) tile.whereEl.textContent = where;
    for (let i = 0; i < shown.length; i++) {
      const s = shown[i];
      const last = d.last.get(s.id);
      let val = last ? formatValue(last.v, s.resolution) : '–';
      if (isActuator(s) && (last || app.lastCommand(d.id, s.id))) val = actuatorLevel(d, s, app) ? 'on' : 'off';
      const el = tile.valueEls[i];
      if (el && el.textContent !== val) el.textContent = val;
    }
  }

  renderDetail(app) {
    const el = this.el;
    const d = app.selected ? app.devices.get(app.selected) : null;
    if (!d) {
      if (this.detailFor) this.clearDetail();
      el.detail.hidden = true;
      return;
    }
    el.detail.hidden = false;
    const sensorsKey = JSON.stringify(d.sensors);
    if (this.detailFor !== d.id || this.detailSensors !== sensorsKey) {
      this.clearDetail();
      this.buildDetail(app, d);
      this.detailSensors = sensorsKey;
      this.detailFor = d.id;
    }
    if (el.window.value !== String(app.windowS)) el.window.value = String(app.windowS);
    if (d.dirty) {
      d.dirty = false;
      el.detailTitle.textContent = d.id;
      const meta = [d.online ? 'online' : 'offline'];
      if (d.online) meta.push([d.hub, d.region].filter(Boolean).join(' · '));
      else meta.push(`last seen ${ago(d.lastSeen)}`);
      if (d.agentVersion) meta.push(`agent ${d.agentVersion}`);
      const missing = d.seqs ? d.missingSeqs(1).length : 0;
      if (missing) meta.push('gap in received frames');
      el.detailMeta.textContent = meta.join(' · ');
      el.detail.dataset.online = String(d.online);
      this.renderActuators(app, d);
    }
    const maxX = Date.now() / 1000;
    const minX = maxX - app.windowS;
    for (const [id, c] of this.charts) {
      const ser = d.series && d.series.get(id);
      const last = d.last.get(id);
      const text = last ? formatValue(last.v, c.sensor.resolution) : '–';
      if (c.valueEl.textContent !== text) c.valueEl.textContent = text;
      if (last && c.valueEl.dataset.seq !== String(last.seq)) c.valueEl.dataset.seq = String(last.seq);
      if (!ser) continue;
      const n = ser.x.length;
      const lx = n ? ser.x[n - 1] : 0;
      if (n === c.lastLen && lx === c.lastX && !ser.unsorted && maxX - c.lastDraw < 1) continue;
      ser.trim(minX - 5);
      c.chart.update(ser, minX, maxX);
      c.lastLen = ser.x.length;
      c.lastX = lx;
      c.lastDraw = maxX;
    }
  }

  buildDetail(app, d) {
    const el = this.el;
    let i = 0;
    for (const s of d.sensors) {
      if (isActuator(s)) continue;
      const card = this.doc.createElement('section');
      card.className = 'chart-card';
      card.dataset.chart = s.id;
      card.innerHTML = `<header><h4>${esc(s.id)}</h4><span class="muted">${esc(s.kind || '')}</span>`
        + `<span class="last"><span class="value">–</span> <span class="unit">${esc(s.unit || '')}</span></span></header><div class="plot"></div>`;
      el.charts.append(card);
      const format = (v) => (v === null || v === undefined ? '' : formatValue(v, s.resolution));
      const chart = new Chart(card.querySelector('.plot'), { label: s.id, format, colorIndex: i++, step: s.kind === 'level' });
      this.charts.set(s.id, { chart, card, sensor: s, valueEl: card.querySelector('.value'), lastLen: -1, lastX: 0, lastDraw: 0 });
    }
    if (i === 0) el.charts.innerHTML = '<p class="muted">This device announced no sensors.</p>';
  }

  renderActuators(app, d) {
    const acts = d.sensors.filter(isActuator);
    const el = this.el.actuators;
    el.hidden = acts.length === 0;
    // Rewrite the switches only when they change: a device is marked dirty
    // by every frame, and a switch replaced between mousedown and mouseup
    // would swallow the click.
    const html = acts.map((s) => {
      const on = actuatorLevel(d, s, app);
      const c = app.lastCommand(d.id, s.id);
      let res = '';
      if (c) {
        if (c.ok === null) res = `<span class="result pending">sending ${c.level ? 'on' : 'off'}…</span>`;
        else if (c.ok) res = `<span class="result ok">${c.level ? 'on' : 'off'}: ok${c.result !== null && typeof c.result !== 'object' ? ` (${esc(c.result)})` : ''}</span>`;
        else res = `<span class="result failed">${c.level ? 'on' : 'off'} failed: ${esc(c.error)}</span>`;
      }
      const busy = c && c.ok === null;
      return `<div class="actuator" data-actuator="${esc(s.id)}"><button type="button" role="switch" class="switch" data-pin="${esc(s.id)}" aria-label="${esc(s.id)}" aria-checked="${on}"${busy || !d.online ? ' disabled' : ''}><span class="knob"></span></button>`
        + `<label>${esc(s.id)} <span class="muted">${esc(s.kind)}</span></label> <span class="state">${on ? 'on' : 'off'}</span> ${res}</div>`;
    }).join('');
    if (html !== this.actuatorsHTML) {
      el.innerHTML = html;
      this.actuatorsHTML = html;
    }
  }

  clearDetail() {
    for (const c of this.charts.values()) c.chart.destroy();
    this.charts.clear();
    this.el.charts.innerHTML = '';
    this.el.actuators.innerHTML = '';
    this.actuatorsHTML = '';
    this.detailFor = '';
    this.detailSensors = '';
  }
}
