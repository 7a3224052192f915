import uPlot from 'uplot';
import type { MetricValues, SeriesInfo, SeriesPoint } from '../src/collect/snapshot-types.js';
import { el, fmtMs, fmtRate, fmtTick } from './dom.js';

const PALETTE = ['#4cc9f0', '#f72585', '#ffd166', '#06d6a0', '#b388ff', '#ff8c42', '#90be6d'];
const CHART_HEIGHT = 110;

type Pick = (v: MetricValues | undefined) => number | null;
interface ChartSpec {
  readonly title: string;
  readonly series: readonly { readonly label: string; readonly pick: Pick }[];
  readonly fmt: (v: number) => string;
  readonly range?: [number, number];
}

/** The small time-series charts of one service or category. */
class SeriesCard {
  readonly root: HTMLElement;
  readonly key: string;
  readonly #figures: HTMLElement;
  readonly #charts: { spec: ChartSpec; plot: uPlot; host: HTMLElement; signature: string }[] = [];

  constructor(info: SeriesInfo) {
    this.key = info.key;
    this.#figures = el('div', 'figures');
    const grid = el('div', 'charts');
    this.root = el('article', `series ${info.kind}`, el('div', 'series-head', el('h3', undefined, info.kind === 'category' ? `category ${info.label}` : info.label), el('span', 'tag', info.category)), this.#figures, grid);
    this.root.dataset['series'] = info.key;
    for (let i = 0; i < 4; i++) grid.append(el('div', 'chart'));
  }

  /** Its figures; its charts too when `draw` (a card out of sight keeps the charts it last drew). */
  update(points: readonly SeriesPoint[], draw: boolean): void {
    const values = points.map((p) => p.values[this.key]);
    const last = values[values.length - 1];
    this.#figures.replaceChildren(
      figure('offered (cluster)', last ? `${fmtRate(last.offeredCluster)}/s` : '–'),
      figure('offered here', last ? `${fmtRate(last.offered)}/s` : '–'),
      figure('goodput', last ? `${fmtRate(last.goodput)}/s` : '–'),
      figure('SLO attainment', last?.attainment != null ? `${(last.attainment * 100).toFixed(1)}%` : '–'),
      figure('p50 / p99', last?.p50Ms != null ? `${fmtMs(last.p50Ms)} / ${fmtMs(last.p99Ms ?? 0)}` : '–'),
    );
    if (!draw) return;
    const codes = [...new Set(values.flatMap((v) => Object.keys(v?.drops ?? {})))].sort();
    const specs: ChartSpec[] = [
      { title: 'rate, req/s', fmt: fmtTick, series: [
        { label: 'offered (cluster)', pick: (v) => v?.offeredCluster ?? null },
        { label: 'offered here', pick: (v) => v?.offered ?? null },
        { label: 'goodput', pick: (v) => v?.goodput ?? null },
      ] },
      { title: 'SLO attainment, %', fmt: (v) => v.toFixed(0), range: [0, 100], series: [{ label: 'attainment', pick: (v) => (v?.attainment == null ? null : v.attainment * 100) }] },
      { title: 'latency, ms', fmt: fmtTick, series: [
        { label: 'p50', pick: (v) => v?.p50Ms ?? null },
        { label: 'p99', pick: (v) => v?.p99Ms ?? null },
      ] },
      { title: 'drops, req/s', fmt: fmtTick, series: codes.length === 0 ? [{ label: 'none', pick: (v) => (v ? 0 : null) }] : codes.map((c) => ({ label: c, pick: (v: MetricValues | undefined) => (v ? (v.drops[c] ?? 0) : null) })) },
    ];
    const xs = points.map((p) => p.t);
    specs.forEach((spec, i) => this.#draw(i, spec, [xs, ...spec.series.map((s) => values.map(s.pick))]));
  }

  #draw(i: number, spec: ChartSpec, data: uPlot.AlignedData): void {
    const host = this.root.querySelectorAll('.chart')[i] as HTMLElement;
    const signature = spec.series.map((s) => s.label).join('|');
    const width = Math.max(160, host.clientWidth || 240);
    let c = this.#charts[i];
    if (c && c.signature !== signature) {
      c.plot.destroy();
      c = undefined;
    }
    if (!c) {
      host.replaceChildren();
      const plot = new uPlot(options(spec, width), data, host);
      this.#charts[i] = c = { spec, plot, host, signature };
      return;
    }
    if (Math.abs(c.plot.width - width) > 4) c.plot.setSize({ width, height: CHART_HEIGHT });
    c.plot.setData(data);
  }
}

function options(spec: ChartSpec, width: number): uPlot.Options {
  const axis = { stroke: '#8b98a9', grid: { stroke: 'rgba(255,255,255,0.06)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.1)', width: 1 }, font: '10px system-ui, sans-serif' };
  return {
    title: spec.title,
    width,
    height: CHART_HEIGHT,
    legend: { show: true, live: false },
    cursor: { show: true, points: { show: false } },
    scales: { x: { time: true }, y: spec.range ? { range: spec.range } : { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      { ...axis, space: 60, values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false, minute: '2-digit', second: '2-digit' })) },
      { ...axis, size: 42, space: 20, values: (_u, ticks) => ticks.map((t) => spec.fmt(t)) },
    ],
    series: [{}, ...spec.series.map((s, k) => ({ label: s.label, stroke: PALETTE[k % PALETTE.length]!, width: 1.5, spanGaps: false, points: { show: false } }))],
  };
}

function figure(label: string, value: string): HTMLElement {
  return el('div', 'figure', el('span', 'figure-label', label), el('span', 'figure-value', value));
}

/**
 * Keeps one card per series, in the server's order, and redraws them on each tick: the figures of every card,
 * the charts of the cards in sight only (a card scrolled into sight draws at once). With hundreds of services
 * the page drew four charts per service each second: 300 services were 1 204 charts a second, the page stopped
 * answering (a script call waited over a minute) and the browser closed it.
 */
export class ChartBoard {
  readonly #root: Element;
  readonly #cards = new Map<string, SeriesCard>();
  /** The cards in sight (or near it); every card without IntersectionObserver. */
  readonly #inSight = new Set<SeriesCard>();
  readonly #observer: IntersectionObserver | undefined;
  #points: readonly SeriesPoint[] = [];

  constructor(root: Element) {
    this.#root = root;
    this.#observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => this.#seen(entries), { rootMargin: '200px 0px' })
        : undefined;
  }

  update(series: readonly SeriesInfo[], points: readonly SeriesPoint[]): void {
    this.#points = points;
    const keep = new Set(series.map((s) => s.key));
    for (const [key, card] of this.#cards) {
      if (keep.has(key)) continue;
      card.root.remove();
      this.#observer?.unobserve(card.root);
      this.#inSight.delete(card);
      this.#cards.delete(key);
    }
    if (series.length === 0) return this.#root.replaceChildren(el('p', 'empty', 'No services yet.'));
    this.#root.querySelector(':scope > p.empty')?.remove();
    // Each card is moved only when it is out of order: moving every card on each tick (as this did) took the
    // browser's scroll anchor out of the page, and a page scrolled down jumped back near its top.
    let before: Element | null = null;
    series.forEach((info) => {
      let card = this.#cards.get(info.key);
      if (!card) {
        this.#cards.set(info.key, (card = new SeriesCard(info)));
        cardOf.set(card.root, card);
        if (this.#observer) this.#observer.observe(card.root);
        else this.#inSight.add(card);
      }
      const expected: Element | null = before === null ? this.#root.firstElementChild : before.nextElementSibling;
      if (expected !== card.root) {
        if (before === null) this.#root.prepend(card.root);
        else before.after(card.root);
      }
      before = card.root;
      card.update(points, this.#inSight.has(card));
    });
  }

  #seen(entries: readonly IntersectionObserverEntry[]): void {
    for (const e of entries) {
      const card = cardOf.get(e.target);
      if (card === undefined || !this.#cards.has(card.key)) continue;
      if (!e.isIntersecting) {
        this.#inSight.delete(card);
        continue;
      }
      if (!this.#inSight.has(card)) card.update(this.#points, true);
      this.#inSight.add(card);
    }
  }
}

/** The card of each card's root element (for the observer's entries). */
const cardOf = new WeakMap<Element, SeriesCard>();
