import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { HistoryMessage, SeriesPoint, TickMessage } from '../src/collect/snapshot-types.js';
import { ChartBoard } from './charts.js';
import { fmtTime } from './dom.js';
import { renderFlows, renderNodes, renderPlacements } from './render-nodes.js';

/** The page: connects to `<prefix>/events` and redraws everything on each tick (EventSource reconnects by itself). */
function main(): void {
  const prefix = document.body.dataset['prefix'] ?? '/dashboard';
  const $ = (id: string): HTMLElement => document.getElementById(id)!;
  const status = $('status');
  const board = new ChartBoard($('services'));
  let points: SeriesPoint[] = [];
  let windowSec = 300;
  let ticks = 0;

  const source = new EventSource(`${prefix}/events`);
  source.addEventListener('history', (ev) => {
    const h = JSON.parse((ev as MessageEvent<string>).data) as HistoryMessage;
    points = [...h.points];
    windowSec = h.windowMs / 1000;
  });
  source.addEventListener('tick', (ev) => {
    const t = JSON.parse((ev as MessageEvent<string>).data) as TickMessage;
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
  source.addEventListener('error', () => {
    status.className = 'status down';
    status.textContent = 'reconnecting…';
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
