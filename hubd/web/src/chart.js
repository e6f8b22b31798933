// One live uPlot chart per sensor. The chart holds references to the
// Series arrays; update() hands it the current arrays and the window.
import uPlot from 'uplot';

const PALETTE = ['#2f80ed', '#eb5757', '#27ae60', '#f2994a', '#9b51e0', '#00a5a8', '#d4a000', '#e0609a'];

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** #rrggbb with alpha a, as rgba(). */
function faint(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export class Chart {
  constructor(el, { label, format, colorIndex, step }) {
    this.el = el;
    const fg = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    const width = Math.max(200, el.clientWidth || 300);
    const opts = {
      width,
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true } },
      series: [
        {},
        // min and max of each merged window (minmax subscriptions): two thin
        // faint lines with a band between them, under the last-value line.
        { label: `${label} min`, stroke: faint(PALETTE[colorIndex % PALETTE.length], 0.35), width: 0.5, points: { show: false } },
        { label: `${label} max`, stroke: faint(PALETTE[colorIndex % PALETTE.length], 0.35), width: 0.5, points: { show: false } },
        {
          label,
          stroke: PALETTE[colorIndex % PALETTE.length],
          width: 1.5,
          points: { show: false },
          paths: step ? uPlot.paths.stepped({ align: 1 }) : undefined,
        },
      ],
      bands: [{ series: [2, 1], fill: faint(PALETTE[colorIndex % PALETTE.length], 0.12) }],
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56, values: (u, vals) => vals.map(format) },
      ],
    };
    this.u = new uPlot(opts, [[], [], [], []], el);
    this.ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== this.u.width) this.u.setSize({ width: w, height: 150 });
    });
    this.ro.observe(el);
  }

  /** Shows series (sorted x/y/lo/hi arrays) over [minX, maxX] (seconds). */
  update(series, minX, maxX) {
    this.u.batch(() => {
      this.u.setData([series.x, series.lo, series.hi, series.y], true);
      this.u.setScale('x', { min: minX, max: maxX });
    });
  }

  destroy() {
    this.ro.disconnect();
    this.u.destroy();
  }
}
