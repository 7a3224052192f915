/*
 * Why a group was won or lost: for each sensitivity group (latency, frequency), its ratio over the trials and,
 * per service in it, how each system's items ended by the way they went — served where they entered, sent to
 * another server, refused at the entry — with where each system hosts the service. Counted from the trials'
 * tallies (the clients' for streams and for the baseline, the EPARA entries' decision log for its requests),
 * summed over the trials, so that every run's report explains its verdict.
 */
import type { PlacedInstance } from '@epara/core';
import type { TritonConfig } from './baseline/triton-config.js';
import type { DemoServiceInfo } from './catalog.js';
import type { DecisionCount, EntryDecisions } from './entry-decisions.js';
import { table } from './format.js';
import type { RatioSpread } from './summary.js';
import type { ServiceTally } from './tally.js';

/**
 * The kinds of forward an EPARA node counts per service (`forwards:<service>:<kind>` among its stats): `first` — sent
 * to a peer by the node the request entered at (or a peer's first forward); `retry` — sent again to another peer
 * after a refusal or a failure; `onward` — a request a peer had forwarded, sent on (its second hop).
 */
export const FORWARD_KINDS = ['first', 'retry', 'onward'] as const;

/** `image: 921 forwards (812 first, 98 again after a refusal or failure, 11 onward from a peer)`, from summed node counters. */
export function forwardsLine(serviceId: string, counters: readonly Readonly<Record<string, number>>[]): string | undefined {
  const n = (kind: string): number => counters.reduce((a, c) => a + (c[`forwards:${serviceId}:${kind}`] ?? 0), 0);
  const [first, retry, onward] = FORWARD_KINDS.map(n);
  const total = first! + retry! + onward!;
  if (total === 0) return undefined;
  return `EPARA's forwards of ${serviceId}: ${total} (${first} first, ${retry} again after a refusal or failure, ${onward} onward by the peer that received one)`;
}

/** How the items of one route ended. */
export interface RouteEnds {
  items: number;
  good: number;
  late: number;
  /** Refused without running: `OVERLOADED` and the other admission codes (at a peer, for a forward). */
  refused: number;
  /** Dropped from a queue or in flight once they could no longer make it (`DEADLINE_EXCEEDED`, `STALE_FRAME`). */
  expired: number;
  /** Any other failure. */
  other: number;
}

/** The routes of one system's items of one service. */
export type Routes = Record<'here' | 'elsewhere' | 'refused at entry', RouteEnds>;

const EXPIRED = new Set(['DEADLINE_EXCEEDED', 'STALE_FRAME']);
const REFUSED = new Set(['OVERLOADED', 'DEADLINE_INFEASIBLE', 'NO_INSTANCE', 'HOP_LIMIT', 'RATE_LIMITED']);

const empty = (): RouteEnds => ({ items: 0, good: 0, late: 0, refused: 0, expired: 0, other: 0 });
const emptyRoutes = (): Routes => ({ here: empty(), elsewhere: empty(), 'refused at entry': empty() });

function addDrops(into: RouteEnds, dropped: Readonly<Record<string, number>>): void {
  for (const [code, n] of Object.entries(dropped)) {
    if (EXPIRED.has(code)) into.expired += n;
    else if (REFUSED.has(code)) into.refused += n;
    else into.other += n;
  }
}

function addDecision(into: RouteEnds, c: DecisionCount): void {
  into.items += c.n;
  into.good += c.good;
  into.late += c.late;
  addDrops(into, c.dropped);
}

/** The runs of one system the routes are counted from (a trial's {@link SystemRun} fits). */
export interface RoutedRun {
  readonly byEntry: readonly Readonly<Record<string, ServiceTally>>[];
  readonly decisions?: readonly EntryDecisions[];
  /** The nodes' counters summed over the run (EPARA's carry {@link FORWARD_KINDS}). */
  readonly counters?: Readonly<Record<string, number>>;
}

/**
 * The routes of `service`'s items over `runs`. Streams: frames by whether their stream was served at its entry or
 * elsewhere (for runs without a decision log, frames a site that does not host the service counted as its own were
 * forwarded by it), and frames of streams refused whole (never served) at the entry. Requests: an entry's decision log when
 * the runs carry one (EPARA: `local`, `forward …`, `reject …`), otherwise the entry's tally by whether that entry hosts
 * the service (`hostedAt`: the baseline serves a request where it enters when that site hosts the model, otherwise
 * forwards it).
 */
export function routesOf(runs: readonly RoutedRun[], service: DemoServiceInfo, hostedAt: ReadonlySet<number>): Routes {
  const r = emptyRoutes();
  for (const run of runs) {
    run.byEntry.forEach((services, entry) => {
      const t = services[service.id];
      if (t === undefined) return;
      if (service.traffic === 'stream') {
        let served = 0;
        let servedDropped = 0;
        for (const [at, c] of Object.entries(t.servedOutcome)) {
          // The baseline's clients name the site their frames entered at for a model its load balancer forwards
          // (frames are ordinary requests there): a site that does not host the model sent them on.
          const forwarded = run.decisions === undefined && hostedAt.size > 0 && !hostedAt.has(Number(at));
          const into = Number(at) === entry && !forwarded ? r.here : r.elsewhere;
          into.items += c.good + c.late + c.dropped;
          into.good += c.good;
          into.late += c.late;
          served += c.good + c.late + c.dropped;
          servedDropped += c.dropped;
          // A served stream's dropped frames went stale or were given up by its host: counted expired.
          into.expired += c.dropped;
        }
        // Frames of streams never served: the entry's drops beyond those the serving nodes dropped.
        const drops = Object.values(t.dropped).reduce((a, n) => a + n, 0);
        const unserved = Math.max(0, t.offered - served);
        const whole = r['refused at entry'];
        whole.items += unserved;
        whole.refused += Math.min(unserved, Math.max(0, drops - servedDropped));
        whole.other += Math.max(0, unserved - Math.max(0, drops - servedDropped));
        return;
      }
      const decided = run.decisions?.[entry]?.[service.id];
      if (run.decisions !== undefined) {
        for (const [decision, c] of Object.entries(decided ?? {})) addDecision(decision === 'local' ? r.here : decision.startsWith('forward') ? r.elsewhere : r['refused at entry'], c);
        return;
      }
      const into = hostedAt.has(entry) ? r.here : r.elsewhere;
      into.items += t.offered;
      into.good += t.good;
      into.late += t.late;
      addDrops(into, t.dropped);
    });
  }
  return r;
}

const ROUTE_NAMES: Record<keyof Routes, string> = { here: 'served at entry', elsewhere: 'sent to a peer', 'refused at entry': 'refused at entry' };

/** Rows of one service's routes for both systems (routes with no item left out). */
export function routeRows(service: string, systems: readonly { name: string; hosts: string; routes: Routes }[]): string[][] {
  const rows: string[][] = [];
  for (const s of systems) {
    for (const key of Object.keys(ROUTE_NAMES) as (keyof Routes)[]) {
      const e = s.routes[key];
      if (e.items === 0) continue;
      rows.push([service, s.name, s.hosts, ROUTE_NAMES[key], String(e.items), String(e.good), String(e.late), String(e.refused), String(e.expired), String(e.other), `${((100 * e.good) / e.items).toFixed(1)}%`]);
    }
  }
  return rows;
}

/** Items lost (not good) on each route, and the route that lost the most. */
function worstRoute(r: Routes): { route: string; lost: number; total: number } {
  let worst: { route: string; lost: number } = { route: '-', lost: -1 };
  let total = 0;
  for (const key of Object.keys(ROUTE_NAMES) as (keyof Routes)[]) {
    const lost = r[key].items - r[key].good;
    total += lost;
    if (lost > worst.lost) worst = { route: ROUTE_NAMES[key], lost };
  }
  return { ...worst, total };
}

const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);

/** The section's lines: per group its ratio, then per service both systems' routes and a line naming the loss. */
export function groupVerdictLines(o: {
  ratios: Readonly<Record<string, RatioSpread>>;
  runs: { readonly epara: readonly RoutedRun[]; readonly triton: readonly RoutedRun[] };
  services: readonly DemoServiceInfo[];
  placement: readonly PlacedInstance[];
  triton: TritonConfig;
  ids: readonly string[];
}): string[] {
  const out: string[] = [];
  for (const group of ['latency', 'frequency'] as const) {
    const services = o.services.filter((s) => s.slo.kind === group);
    const r = o.ratios[group];
    if (services.length === 0 || r === undefined) continue;
    const verdict = r.median === null ? 'no ratio' : r.median < 1 ? 'lost' : 'won';
    out.push(`${group}: EPARA ${x(r.median)} the baseline's goodput (median over trials, range ${x(r.min)}–${x(r.max)}) — ${verdict}`);
    const rows: string[][] = [['service', 'system', 'hosts', 'route', 'items', 'good', 'late', 'refused', 'expired', 'other', 'att.']];
    const notes: string[] = [];
    for (const s of services) {
      const eparaHosts = new Set(o.placement.filter((p) => p.serviceId === s.id).map((p) => o.ids.indexOf(p.serverId)));
      const tritonHosts = new Set(o.triton.models.find((m) => m.serviceId === s.id)?.nodes ?? []);
      const names = (hosts: ReadonlySet<number>): string => [...hosts].sort((a, b) => a - b).map((i) => o.ids[i] ?? String(i)).join(',') || '(none)';
      const epara = routesOf(o.runs.epara, s, eparaHosts);
      const triton = routesOf(o.runs.triton, s, tritonHosts);
      rows.push(...routeRows(s.id, [
        { name: 'EPARA', hosts: names(eparaHosts), routes: epara },
        { name: 'Triton-like', hosts: names(tritonHosts), routes: triton },
      ]));
      const good = (x: Routes): number => x.here.good + x.elsewhere.good;
      const diff = good(epara) - good(triton);
      const we = worstRoute(epara);
      const wt = worstRoute(triton);
      notes.push(`${s.id}: EPARA ${diff >= 0 ? `${diff} more` : `${-diff} fewer`} good items; EPARA lost ${we.total}, most ${we.route} (${we.lost}); the baseline lost ${wt.total}, most ${wt.route} (${wt.lost})`);
      const forwards = forwardsLine(s.id, o.runs.epara.flatMap((r) => (r.counters ? [r.counters] : [])));
      if (forwards !== undefined) notes.push(forwards);
    }
    out.push('', '```', ...table(rows), '```', '', ...notes.map((n) => `- ${n}`), '');
  }
  return out;
}
