import type { FlowCell, InstanceRow, NodeRow, PlacementRow } from '../src/collect/snapshot-types.js';
import { el, fmtBytes, fmtMs, fmtRate, fmtTime, replace } from './dom.js';

/** One card per server: health, view age, load, and its devices with their instances. */
export function renderNodes(root: Element, nodes: readonly NodeRow[]): void {
  replace(
    root,
    nodes.map((n) => {
      const badges = el('div', 'badges', el('span', `health ${n.health}`, n.health), n.self ? el('span', 'tag', 'this node') : undefined, n.leader ? el('span', 'tag leader', 'leader') : undefined);
      const meta = el(
        'div',
        'meta',
        el('span', undefined, `view age ${fmtMs(n.viewAgeMs)}`),
        el('span', undefined, `load ${Math.round(n.load * 100)}%`),
        n.health !== 'dead' ? el('span', undefined, `free ${fmtBytes(n.freeMemoryBytes)}`) : undefined,
        n.leftReason ? el('span', 'reason', `left: ${n.leftReason}`) : undefined,
      );
      const devices = n.devices.length === 0 ? [el('div', 'empty', n.health === 'dead' ? 'unreachable' : 'no instances')] : n.devices.map((d) => el('div', 'device', el('div', 'device-id', d.deviceId), ...d.instances.map(instance)));
      const card = el('article', `node ${n.health}`, el('div', 'node-head', el('h3', undefined, n.id), badges), meta, ...devices);
      card.dataset['node'] = n.id;
      card.dataset['health'] = n.health;
      return card;
    }),
  );
}

function instance(i: InstanceRow): HTMLElement {
  const e = el(
    'div',
    'instance',
    el('div', 'inst-head', el('b', undefined, i.serviceId), el('span', `state ${i.status.toLowerCase()}`, i.status)),
    el('div', 'inst-meta', `${i.category} · ${i.mode} · ${i.mode.startsWith('multi-frame') ? 'pack' : 'batch'} ${i.batchSize}`),
    el('div', 'inst-meta', `${fmtRate(i.loadPerSec)} / ${fmtRate(i.capacityPerSec)} req/s · wait ${fmtMs(i.waitMs)}`),
  );
  e.dataset['instance'] = i.instanceId;
  e.title = i.instanceId;
  return e;
}

/** A from × to matrix of request rates between servers. */
export function renderFlows(root: Element, nodes: readonly NodeRow[], flows: readonly FlowCell[]): void {
  const ids = nodes.map((n) => n.id);
  const targets = flows.some((f) => f.to === '*') ? [...ids, '*'] : ids;
  const rate = new Map(flows.map((f) => [`${f.from} ${f.to}`, f.ratePerSec]));
  const max = Math.max(0.001, ...flows.map((f) => f.ratePerSec));
  const head = el('tr', undefined, el('th', 'corner', 'from \\ to'), ...targets.map((t) => el('th', undefined, t === '*' ? 'queue group' : t)));
  const rows = ids.map((from) =>
    el(
      'tr',
      undefined,
      el('th', undefined, from),
      ...targets.map((to) => {
        const v = rate.get(`${from} ${to}`) ?? 0;
        const td = el('td', from === to ? 'self' : v > 0 ? 'hot' : undefined, from === to ? '·' : v > 0 ? fmtRate(v) : '–');
        if (v > 0) td.style.setProperty('--heat', String(Math.min(1, v / max)));
        return td;
      }),
    ),
  );
  const note = el('p', 'note', flows.length === 0 ? 'No offloads in the last seconds.' : 'What this node forwards (its row) and receives (its column).');
  replace(root, [el('table', 'matrix', el('thead', undefined, head), el('tbody', undefined, ...rows)), note]);
}

/** Newest placement changes first, each with its reason. */
export function renderPlacements(root: Element, rows: readonly PlacementRow[]): void {
  if (rows.length === 0) return replace(root, [el('li', 'empty', 'No placement changes yet.')]);
  replace(
    root,
    rows.map((r) => el('li', undefined, el('time', undefined, fmtTime(r.at)), el('span', `kind ${r.kind}`, r.kind), el('span', `reason r-${r.reason}`, r.reason), el('span', 'text', r.text))),
  );
}
