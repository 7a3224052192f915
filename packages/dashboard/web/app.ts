import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { HistoryMessage, SeriesPoint, TickMessage } from '../src/collect/snapshot-types.js';
import { ChartBoard } from './charts.js';
import { fmtTime } from './dom.js';
import { openLiveStream } from './live-stream.js';
import { renderFlows, renderNodes, renderPlacements } from './render-nodes.js';

/** What the page is told: the history once, then each update, and when the live stream is down. */
type Update = { type: 'history'; data: HistoryMessage } | { type: 'tick'; data: TickMessage } | { type: 'down' } | { type: 'signed-out' };

/**
 * Subscribes to the live updates. Every tab of one browser shares one event stream through a shared worker: a
 * browser opens at most six HTTP/1.1 connections to an origin, and with a stream per tab the seventh tab never
 * loaded. Without shared workers (some mobile browsers), each tab opens its own.
 */
function subscribe(prefix: string, on: (u: Update) => void): void {
  if (typeof SharedWorker === 'function') {
    try {
      const worker = new SharedWorker(`${prefix}/stream.js?prefix=${encodeURIComponent(prefix)}`, { name: 'epara-dashboard' });
      worker.port.onmessage = (ev: MessageEvent<Update>) => on(ev.data);
      worker.port.start();
      // Leaves the worker's list when the tab goes (the worker ends with the last tab, and its stream with it).
      addEventListener('pagehide', () => worker.port.postMessage({ type: 'bye' }));
      return;
    } catch {
      // A worker refused (a policy, a private mode): one stream for this tab.
    }
  }
  openLiveStream(prefix, {
    history: (data) => on({ type: 'history', data }),
    tick: (data) => on({ type: 'tick', data }),
    down: () => on({ type: 'down' }),
    signedOut: () => on({ type: 'signed-out' }),
  });
}

/** The page: redraws everything on each live update. */
function main(): void {
  const prefix = document.body.dataset['prefix'] ?? '/dashboard';
  const $ = (id: string): HTMLElement => document.getElementById(id)!;
  const status = $('status');
  const board = new ChartBoard($('services'));
  let points: SeriesPoint[] = [];
  let windowSec = 300;
  let ticks = 0;

  subscribe(prefix, (u) => {
    if (u.type === 'history') {
      points = [...u.data.points];
      windowSec = u.data.windowMs / 1000;
      return;
    }
    // The server no longer takes this browser's session (back with another token): its sign-in form.
    if (u.type === 'signed-out') return location.reload();
    if (u.type === 'down') {
      status.className = 'status down';
      status.textContent = 'reconnecting…';
      return;
    }
    const t = u.data;
    if (points[points.length - 1]?.t !== t.point.t) points.push(t.point);
    while (points.length > 0 && t.point.t - points[0]!.t > windowSec) points.shift();
    ticks += 1;
    document.body.dataset['ticks'] = String(ticks);
    status.className = 'status live';
    status.textContent = `live · ${t.self}${t.address ? ` (${t.address})` : ''} · ${fmtTime(t.at)}`;
    renderNodes($('nodes'), t.nodes);
    board.update(t.series, points);
    renderFlows($('flows'), t.nodes, t.flows);
    renderPlacements($('placements'), t.placements);
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
