// One dashboard connection to the hub: WebSocket with the chosen subprotocol,
// authentication, request/reply by id, keepalive pings and reconnection with
// jittered, growing backoff (docs/PROTOCOL.md, "Dashboard link").
//
// The connection knows nothing about subscriptions: on every (re)connection
// that reaches the ready state it calls onReady, and the caller subscribes
// again (with `since`, to recover what it missed).
import { SUBPROTOCOL, encode, decodeAll } from './codec.js';

const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
const REQUEST_TIMEOUT_MS = 20000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10000;
const STABLE_AFTER_MS = 5000; // a connection that lived this long resets the backoff

export class ProtocolError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

export class Conn {
  /**
   * @param {object} o
   * @param {string} o.url        ws:// or wss:// URL of /v1/ws
   * @param {string} o.proto      "json" or "cbor"
   * @param {() => string} o.token current token ("" = anonymous)
   * @param {(msg: object) => void} o.onMessage unsolicited hub messages
   * @param {() => void} o.onReady connected and authenticated
   * @param {(state: string, detail: object) => void} o.onState
   */
  constructor(o) {
    this.url = o.url;
    this.proto = o.proto;
    this.token = o.token;
    this.onMessage = o.onMessage;
    this.onReady = o.onReady;
    this.onState = o.onState;
    this.state = 'idle'; // idle | connecting | authenticating | ready | waiting | stopped | unauthorized
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.attempt = 0;
    this.connects = 0;
    this.openedAt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    this.lastClose = null;
    this.bytesIn = 0;
    this.messagesIn = 0;
  }

  start() {
    if (this.state !== 'idle' && this.state !== 'stopped' && this.state !== 'unauthorized') return;
    this.attempt = 0;
    this.dial();
  }

  stop() {
    this.setState('stopped', {});
    clearTimeout(this.retryTimer);
    this.teardown('stopped');
  }

  setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  dial() {
    clearTimeout(this.retryTimer);
    let ws;
    try {
      ws = new WebSocket(this.url, [SUBPROTOCOL[this.proto]]);
    } catch (err) {
      this.scheduleRetry({ code: 0, reason: String(err) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.setState('connecting', { attempt: this.attempt });
    ws.onopen = () => this.opened(ws);
    ws.onmessage = (ev) => this.received(ws, ev.data);
    ws.onerror = () => {}; // onclose follows with the code
    ws.onclose = (ev) => this.closed(ws, { code: ev.code, reason: ev.reason });
  }

  async opened(ws) {
    if (ws !== this.ws) return;
    this.openedAt = performance.now();
    this.connects++;
    this.schedulePing();
    const token = this.token();
    this.authReply = null;
    try {
      if (token) {
        this.setState('authenticating', {});
        this.authReply = await this.request({ op: 'auth', token });
      }
    } catch (err) {
      if (ws !== this.ws) return;
      // A rejected token closes the connection with 1008; say so now.
      this.lastClose = { code: err.code || 0, reason: err.message };
      this.unauthorized(err.message);
      return;
    }
    if (ws !== this.ws) return;
    this.setState('ready', { hub: null });
    this.onReady();
  }

  unauthorized(reason) {
    clearTimeout(this.retryTimer);
    this.teardown(reason);
    this.setState('unauthorized', { reason });
  }

  received(ws, data) {
    if (ws !== this.ws) return;
    this.messagesIn++;
    this.bytesIn += typeof data === 'string' ? data.length : data.byteLength;
    let msgs;
    try {
      msgs = decodeAll(this.proto, data);
    } catch (err) {
      this.onState(this.state, { error: `undecodable message from hub: ${err.message}` });
      return;
    }
    for (const m of msgs) {
      if (m && m.id !== undefined && m.id !== null && this.pending.has(m.id) && m.op !== 'frame') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.op === 'error') {
          p.reject(new ProtocolError(m.code, m.message));
        } else {
          // Runs before the rest of this batch: frames that follow a sub's
          // ok must see the subscription's new state.
          if (p.onReply) p.onReply(m);
          p.resolve(m);
        }
        continue;
      }
      if (m && m.op === 'pong') continue;
      this.onMessage(m);
    }
  }

  closed(ws, info) {
    if (ws !== this.ws) return;
    this.lastClose = info;
    const wasAuth = this.state === 'authenticating' || (this.state === 'connecting' && info.code === 1008);
    this.teardown(`closed ${info.code}`);
    if (this.state === 'stopped') return;
    if (info.code === 1008 && (wasAuth || !this.token())) {
      // Policy close before we were in: token missing or rejected.
      this.setState('unauthorized', { reason: info.reason || 'authentication required' });
      return;
    }
    this.scheduleRetry(info);
  }

  teardown(reason) {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        try { ws.close(1000, 'bye'); } catch { /* already closing */ }
      }
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`connection lost (${reason})`));
    }
    this.pending.clear();
  }

  scheduleRetry(info) {
    if (this.openedAt && performance.now() - this.openedAt > STABLE_AFTER_MS) this.attempt = 0;
    this.openedAt = 0;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    this.attempt++;
    this.setState('waiting', { delay, close: info });
    this.retryTimer = setTimeout(() => this.dial(), delay);
  }

  /** Reconnects now, e.g. after a new token or protocol was chosen. */
  restart() {
    clearTimeout(this.retryTimer);
    this.teardown('restart');
    this.attempt = 0;
    this.dial();
  }

  schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      this.pongTimer = setTimeout(() => {
        // No pong: the link is dead without a close (hub host gone). Drop it.
        if (ws === this.ws) this.closed(ws, { code: 4000, reason: 'no pong' });
      }, PONG_WITHIN_MS);
      this.request({ op: 'ping' }).then(() => {
        clearTimeout(this.pongTimer);
        this.schedulePing();
      }, () => {});
    }, PING_EVERY_MS);
  }

  /** Sends a message without waiting for a reply. */
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encode(this.proto, msg));
    return true;
  }

  /**
   * Sends a message with a fresh id and resolves with the reply to it; an
   * error reply rejects with a ProtocolError. onReply, when given, is called
   * synchronously with the reply, before any message batched after it.
   */
  request(msg, onReply) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...msg, id })) {
        reject(new Error('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to ${msg.op} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer, onReply });
    });
  }
}
