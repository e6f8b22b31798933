// window.edgeplane: a read-mostly view of the page's state for end-to-end
// tests and for debugging from the browser console. It is not an API for
// other code: names may change with the page. Everything returned is a
// fresh plain copy.
export function installDebugHook(win, app) {
  win.edgeplane = {
    /** Connection: state, proto, url, connects, frames/s, latency, last close. */
    conn() {
      const c = app.conn;
      return {
        state: c.state, proto: c.proto, url: c.url, connects: c.connects, lastClose: c.lastClose,
        framesPerSec: app.stats.framesPerSec, frames: app.stats.frames, duplicates: app.stats.duplicates,
        latencyMs: app.stats.latencyMs, latencyAvgMs: app.stats.latencyAvgMs, draws: app.stats.draws,
        bytesIn: c.bytesIn, messagesIn: c.messagesIn,
      };
    },
    lastError: () => app.lastError,
    errors: () => app.errors.map((e) => ({ ...e })),
    devices: () => [...app.devices.values()].map((d) => ({
      id: d.id, online: d.online, hub: d.hub, region: d.region, labels: { ...d.labels },
      sensors: d.sensors.map((s) => ({ ...s })), lastSeen: d.lastSeen, known: d.known, seqRestarts: d.seqRestarts,
    })),
    /** Subscriptions: channel, mode (overview|detail), filtered, minmax, epoch, off. */
    subs: () => [...app.subs.values()].map((s) => ({
      ch: s.ch, mode: s.cur ? s.cur.mode : '', filtered: s.cur ? s.cur.filtered : false, minmax: s.cur ? s.cur.minmax : false,
      epoch: s.epoch, off: s.off, active: !!(s.cur && s.cur.gen === app.gen),
    })),
    /**
     * Samples of one sensor: [{seq, off, t (ms), v}], every one received
     * while the device is shown in detail (with lo and hi, the min and max
     * of the merged window, on a minmax subscription); otherwise only the
     * last one.
     */
    samples(device, sensor) {
      const d = app.devices.get(device);
      if (!d) return [];
      const ser = d.series && d.series.get(sensor);
      if (ser) {
        ser.sort();
        return ser.x.map((x, i) => {
          const p = { seq: ser.seq[i], off: ser.off[i], t: x * 1000, v: ser.y[i] };
          if (ser.lo[i] !== null) p.lo = ser.lo[i];
          if (ser.hi[i] !== null) p.hi = ser.hi[i];
          return p;
        });
      }
      const last = d.last.get(sensor);
      return last ? [{ ...last }] : [];
    },
    last(device, sensor) {
      const d = app.devices.get(device);
      const last = d && d.last.get(sensor);
      return last ? { ...last } : null;
    },
    /** Seqs of the unfiltered frames received for the detailed device, sorted. */
    seqs(device) {
      const d = app.devices.get(device);
      return d && d.seqs ? [...d.seqs.keys()].sort((a, b) => a - b) : [];
    },
    /** Seqs missing between the lowest and highest received (detailed device). */
    missingSeqs(device) {
      const d = app.devices.get(device);
      return d ? d.missingSeqs() : [];
    },
    resets: () => app.resets.map((r) => ({ ...r })),
    notices: () => app.notices.map((n) => ({ ...n })),
    commands: () => app.commands.map((c) => ({ ...c })),
    selected: () => app.selected,
    select: (id) => app.select(id),
    setWindow: (s) => app.setWindow(s),
    setProto: (p) => app.setProto(p),
  };
}
