// The training curves as one SVG figure (or a PNG of it, by sharp), drawn here without a charting library:
// stacked panels sharing the x axis (iterations or seconds): train loss (raw points and a smoothed line), test
// outputs (accuracy on the left axis, losses on the right one), learning rate (log scale when it spans a decade
// or more).
import sharp from 'sharp';
import { CaffeToolError } from '../errors.js';
import { type LogRow, type LrPoint, outputNames, type ParsedLog } from './log-parse.js';

export type XAxis = 'iter' | 'seconds';

const FIGURE_WIDTH = 1000;
const PANEL_HEIGHT = 290; // plot area plus its title and tick labels
const PLOT_HEIGHT = 220;
const TOP = 64;
const BOTTOM = 40;
const LEFT = 84;
const RIGHT = 84;
const FONT = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif";
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

interface Point {
  x: number;
  y: number;
}

interface Series {
  name: string;
  points: Point[];
  colour: string;
  /** raw: dots only; line: a line; markers: a line with a dot per point; step: a line held flat until the next. */
  style: 'raw' | 'line' | 'markers' | 'step';
  axis: 'left' | 'right';
}

interface Panel {
  title: string;
  series: Series[];
  leftLabel: string;
  rightLabel?: string;
  log?: boolean;
  /** Accuracy-like values all within [0, 1]: the left axis shows exactly that. */
  unitLeft?: boolean;
}

/** The panels there is data for, top to bottom. */
export function panels(log: ParsedLog, x: XAxis): Panel[] {
  const at = (r: { iter: number; seconds: number }) => (x === 'iter' ? r.iter : r.seconds);
  const out: Panel[] = [];
  const trainNames = outputNames(log.train);
  const losses = trainNames.filter((n) => /loss/i.test(n));
  const shown = losses.length ? losses : trainNames;
  if (shown.length) {
    const series: Series[] = [];
    shown.forEach((name, i) => {
      const points = rowsPoints(log.train, name, at);
      const colour = COLOURS[i % COLOURS.length];
      series.push({ name: `${name} (each display)`, points, colour, style: 'raw', axis: 'left' });
      series.push({ name: `${name} (smoothed)`, points: smooth(points), colour, style: 'line', axis: 'left' });
    });
    out.push({ title: 'Train loss', series, leftLabel: 'loss' });
  }
  const testNames = outputNames(log.test);
  if (testNames.length) {
    const lossNames = testNames.filter((n) => /loss/i.test(n));
    const otherNames = testNames.filter((n) => !/loss/i.test(n));
    const twoAxes = lossNames.length > 0 && otherNames.length > 0;
    const series = [...otherNames, ...lossNames].map((name, i): Series => ({
      name: twoAxes && lossNames.includes(name) ? `${name} (right axis)` : name,
      points: rowsPoints(log.test, name, at),
      colour: COLOURS[(i + 2) % COLOURS.length],
      style: 'markers',
      axis: twoAxes && lossNames.includes(name) ? 'right' : 'left',
    }));
    const left = series.filter((s) => s.axis === 'left').flatMap((s) => s.points.map((p) => p.y));
    out.push({
      title: 'Test outputs',
      series,
      leftLabel: otherNames.length ? otherNames.join(', ') : 'loss',
      rightLabel: twoAxes ? lossNames.join(', ') : undefined,
      unitLeft: otherNames.length > 0 && left.every((v) => v >= 0 && v <= 1),
    });
  }
  const lr = log.lr.filter((p) => Number.isFinite(p.lr));
  if (lr.length) {
    const values = lr.map((p) => p.lr);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const log10 = lo > 0 && hi / lo >= 10;
    const points = lr.map((p: LrPoint) => ({ x: at(p), y: p.lr }));
    out.push({
      title: log10 ? 'Learning rate (log scale)' : 'Learning rate',
      series: [{ name: 'lr', points, colour: COLOURS[4], style: 'step', axis: 'left' }],
      leftLabel: 'lr',
      log: log10,
    });
  }
  return out;
}

function rowsPoints(rows: LogRow[], name: string, at: (r: LogRow) => number): Point[] {
  return rows.filter((r) => r.outputs.has(name)).map((r) => ({ x: at(r), y: r.outputs.get(name)! })).filter((p) => Number.isFinite(p.y));
}

/** A centred moving average, its window about 1/20 of the points (none under 5 points), narrowed symmetrically at
 * the ends so that the line starts and ends on the first and last points. */
export function smooth(points: Point[]): Point[] {
  const n = points.length;
  const half = n < 5 ? 0 : Math.min(50, Math.max(1, Math.round(n / 40)));
  return points.map((p, i) => {
    const h = Math.min(half, i, n - 1 - i);
    const [from, to] = [i - h, i + h];
    let sum = 0;
    for (let j = from; j <= to; j++) sum += points[j].y;
    return { x: p.x, y: sum / (to - from + 1) };
  });
}

/** The figure as SVG text or a PNG rendered from it, with its size in pixels. */
export async function renderFigure(log: ParsedLog, opts: { x: XAxis; title: string; format: 'svg' | 'png' }): Promise<{ bytes: Uint8Array; width: number; height: number }> {
  const ps = panels(log, opts.x);
  const [width, height] = [FIGURE_WIDTH, TOP + ps.length * PANEL_HEIGHT + BOTTOM];
  const svg = Buffer.from(renderSvg(log, ps, { ...opts, width, height }));
  if (opts.format === 'svg') return { bytes: svg, width, height };
  try {
    return { bytes: await sharp(svg).png().toBuffer(), width, height };
  } catch (e) {
    throw new CaffeToolError(`cannot render the PNG: ${(e as Error).message}`, { cause: e, hint: 'write an .svg instead' });
  }
}

function renderSvg(log: ParsedLog, ps: Panel[], opts: { x: XAxis; title: string; width: number; height: number }): string {
  const { width, height } = opts;
  const xs = ps.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.x)));
  // Start at 0 unless the log starts far from it (a resumed run).
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const xScale = linearAxis(xMin >= 0 && xMin <= 0.25 * xMax ? 0 : xMin, xMax, 10, false);
  const plotW = width - LEFT - RIGHT;
  const px = (v: number) => LEFT + ((v - xScale.lo) / (xScale.hi - xScale.lo)) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="30" font-size="20" font-weight="bold" fill="#222">${esc(opts.title)}</text>`);
  const summary = `${log.train.length} train rows, ${log.test.length} tests, ${log.lr.length} learning rates (${log.format === 'json' ? 'caffe-tool --log-json' : 'Caffe log'})`;
  out.push(`<text x="${LEFT}" y="50" font-size="12" fill="#666">${esc(summary)}</text>`);
  ps.forEach((panel, i) => {
    const top = TOP + i * PANEL_HEIGHT + 28;
    const xLabel = i === ps.length - 1 ? (opts.x === 'iter' ? 'iteration' : 'seconds since the start') : '';
    out.push(drawPanel(panel, { top, px, xScale, plotW, xLabel }));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  format: (v: number) => string;
}

function drawPanel(panel: Panel, g: { top: number; px: (v: number) => number; xScale: Axis; plotW: number; xLabel: string }): string {
  const { top, px, xScale, plotW } = g;
  const bottom = top + PLOT_HEIGHT;
  const o: string[] = [`<g class="panel" data-title="${esc(panel.title)}">`];
  o.push(`<text x="${LEFT}" y="${top - 10}" font-size="15" font-weight="bold" fill="#222">${esc(panel.title)}</text>`);
  o.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PLOT_HEIGHT}" fill="#fafafa" stroke="none"/>`);
  const axisValues = (side: 'left' | 'right') => panel.series.filter((s) => s.axis === side).flatMap((s) => s.points.map((p) => p.y));
  const yAxis = (side: 'left' | 'right'): Axis | undefined => {
    const v = axisValues(side);
    if (!v.length) return undefined;
    if (side === 'left' && panel.log) return logAxis(Math.min(...v), Math.max(...v));
    if (side === 'left' && panel.unitLeft) return linearAxis(0, 1, 5, false);
    return linearAxis(Math.min(0, ...v), Math.max(...v), 5, true);
  };
  const left = yAxis('left')!;
  const right = yAxis('right');
  const py = (a: Axis, v: number) => {
    const t = panel.log && a === left ? (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo)) : (v - a.lo) / (a.hi - a.lo);
    return bottom - t * PLOT_HEIGHT;
  };
  // Grid and ticks.
  for (const t of left.ticks) {
    const y = f(py(left, t));
    o.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y}" y2="${y}" stroke="#e3e3e3" stroke-width="1"/>`);
    o.push(`<text x="${LEFT - 8}" y="${y}" dy="4" font-size="12" text-anchor="end" fill="#444">${esc(left.format(t))}</text>`);
  }
  for (const t of xScale.ticks) {
    const x = f(px(t));
    o.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#eeeeee" stroke-width="1"/>`);
    o.push(`<line x1="${x}" x2="${x}" y1="${bottom}" y2="${bottom + 5}" stroke="#444" stroke-width="1"/>`);
    o.push(`<text x="${x}" y="${bottom + 19}" font-size="12" text-anchor="middle" fill="#444">${esc(xScale.format(t))}</text>`);
  }
  if (right) {
    for (const t of right.ticks) {
      const y = f(py(right, t));
      o.push(`<line x1="${LEFT + plotW}" x2="${LEFT + plotW + 5}" y1="${y}" y2="${y}" stroke="#444" stroke-width="1"/>`);
      o.push(`<text x="${LEFT + plotW + 8}" y="${y}" dy="4" font-size="12" fill="#444">${esc(right.format(t))}</text>`);
    }
  }
  o.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PLOT_HEIGHT}" fill="none" stroke="#888" stroke-width="1"/>`);
  const cy = f(top + PLOT_HEIGHT / 2);
  o.push(`<text transform="translate(${LEFT - 62} ${cy}) rotate(-90)" font-size="12" text-anchor="middle" fill="#444">${esc(clip(panel.leftLabel))}</text>`);
  if (panel.rightLabel) {
    o.push(`<text transform="translate(${LEFT + plotW + 66} ${cy}) rotate(90)" font-size="12" text-anchor="middle" fill="#444">${esc(clip(panel.rightLabel))}</text>`);
  }
  if (g.xLabel) o.push(`<text x="${LEFT + plotW / 2}" y="${bottom + 38}" font-size="13" text-anchor="middle" fill="#444">${esc(g.xLabel)}</text>`);
  // The data, clipped to the plot area.
  const clipId = `clip-${Math.round(top)}`;
  o.push(`<clipPath id="${clipId}"><rect x="${LEFT - 6}" y="${top - 6}" width="${plotW + 12}" height="${PLOT_HEIGHT + 12}"/></clipPath>`);
  o.push(`<g clip-path="url(#${clipId})">`);
  for (const s of panel.series) {
    const axis = s.axis === 'right' && right ? right : left;
    const pts = s.points.map((p) => ({ x: f(px(p.x)), y: f(py(axis, p.y)) }));
    const attrs = `class="series" data-series="${esc(s.name)}" data-points="${pts.length}"`;
    if (s.style === 'raw') {
      // Dense clouds (long runs) fainter and finer, so that the smoothed line stays readable over them.
      const dense = pts.length > 150;
      o.push(`<g ${attrs} fill="${s.colour}" fill-opacity="${dense ? 0.22 : 0.45}">`);
      for (const p of pts) o.push(`<circle cx="${p.x}" cy="${p.y}" r="${dense ? 2 : 3}"/>`);
      o.push('</g>');
      continue;
    }
    const linePts = s.style === 'step' ? stepPoints(pts) : pts;
    o.push(`<g ${attrs}>`);
    const width = s.name.endsWith('(smoothed)') ? 2.5 : 2;
    o.push(`<polyline points="${linePts.map((p) => `${p.x},${p.y}`).join(' ')}" fill="none" stroke="${s.colour}" stroke-width="${width}" stroke-linejoin="round"/>`);
    if (s.style === 'markers') for (const p of pts) o.push(`<circle cx="${p.x}" cy="${p.y}" r="3.5" fill="#fff" stroke="${s.colour}" stroke-width="2"/>`);
    o.push('</g>');
  }
  o.push('</g>');
  o.push(legend(panel.series, LEFT + plotW, top - 10));
  o.push('</g>');
  return o.join('\n');
}

/** A learning rate holds until the next one is printed: horizontal then vertical segments. */
function stepPoints(pts: Point[]): Point[] {
  const out: Point[] = [];
  pts.forEach((p, i) => {
    if (i > 0) out.push({ x: p.x, y: pts[i - 1].y });
    out.push(p);
  });
  return out;
}

/** The legend: one row on the panel's title line, right-aligned to `right`, so that it never hides data. */
function legend(series: Series[], right: number, baseline: number): string {
  const widths = series.map((s) => 30 + s.name.length * 6.8 + 14);
  let x = right - widths.reduce((a, b) => a + b, 0) + 14;
  const o = ['<g class="legend">'];
  series.forEach((s, i) => {
    const y = baseline - 4;
    if (s.style === 'raw') o.push(`<circle cx="${f(x + 12)}" cy="${y}" r="3" fill="${s.colour}" fill-opacity="0.6"/>`);
    else o.push(`<line x1="${f(x)}" x2="${f(x + 24)}" y1="${y}" y2="${y}" stroke="${s.colour}" stroke-width="2"/>`);
    if (s.style === 'markers') o.push(`<circle cx="${f(x + 12)}" cy="${y}" r="3" fill="#fff" stroke="${s.colour}" stroke-width="2"/>`);
    o.push(`<text x="${f(x + 30)}" y="${baseline}" font-size="12" fill="#222">${esc(s.name)}</text>`);
    x += widths[i];
  });
  o.push('</g>');
  return o.join('\n');
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them; `extend` widens the range to whole ticks. */
export function linearAxis(lo: number, hi: number, count: number, extend: boolean): Axis {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - (lo === 0 ? 0 : pad), hi + pad];
  }
  const step = niceStep((hi - lo) / count);
  if (extend) {
    const top = hi;
    [lo, hi] = [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
    if (hi - top < step * 0.1) hi += step; // a line along the top edge would hide in the frame
  }
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(round(k * step, step));
  const big = Math.max(Math.abs(lo), Math.abs(hi)) >= 10000;
  const decimals = Math.max(0, -Math.floor(Math.log10((big ? step / 1000 : step)) + 1e-9));
  const format = (v: number) => (v === 0 && big ? '0' : big ? `${trim((v / 1000).toFixed(decimals))}k` : trim(v.toFixed(decimals)));
  return { lo, hi, ticks, format };
}

/** Decades from below the smallest value to above the largest. */
function logAxis(lo: number, hi: number): Axis {
  const [a, b] = [Math.floor(Math.log10(lo) + 1e-9), Math.ceil(Math.log10(hi) - 1e-9)];
  const ticks: number[] = [];
  for (let k = a; k <= b; k++) ticks.push(Number(`1e${k}`));
  const format = (v: number) => (v >= 1e-4 && v < 1e5 ? String(Number(v.toPrecision(1))) : v.toExponential(0).replace('e+', 'e'));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks, format };
}

export function niceStep(raw: number): number {
  const k = Math.floor(Math.log10(raw));
  const m = raw / Number(`1e${k}`);
  return Number(`${m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10}e${k}`);
}

function round(v: number, step: number): number {
  const d = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, d)));
}

function trim(s: string): string {
  return s === '-0' ? '0' : s;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

function f(v: number): number {
  return Math.round(v * 10) / 10;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
