import type { Chart } from './types.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return `${Math.round(v / 100) / 10}k`;
  return String(Math.round(v * 100) / 100);
}

/** Renders a line chart as a small, readable, hand-written SVG (axes, ticks, legend, one polyline per series). */
export function renderSvgChart(chart: Chart, width = 640, height = 360): string {
  const m = { l: 64, r: 150, t: 36, b: 48 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yMax = niceMax(ys.length ? Math.max(...ys) : 1);
  const sx = (x: number): number => m.l + (xMax === xMin ? w / 2 : ((x - xMin) / (xMax - xMin)) * w);
  const sy = (y: number): number => m.t + h - (y / yMax) * h;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(chart.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    out.push(`<line x1="${m.l}" x2="${m.l + w}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${m.l - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(xTicks.length / 10));
  xTicks.forEach((x, i) => {
    if (i % step === 0) out.push(`<text x="${sx(x)}" y="${m.t + h + 16}" text-anchor="middle">${fmt(x)}</text>`);
  });
  out.push(`<line x1="${m.l}" x2="${m.l + w}" y1="${m.t + h}" y2="${m.t + h}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + h}" stroke="black"/>`);
  out.push(`<text x="${m.l + w / 2}" y="${height - 10}" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + h / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const pts = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    if (s.points.length <= 30) for (const p of s.points) out.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = m.t + 10 + i * 18;
    out.push(`<line x1="${m.l + w + 12}" x2="${m.l + w + 32}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${m.l + w + 38}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
