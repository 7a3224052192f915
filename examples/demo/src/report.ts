import type { Category } from '@epara/core';
import type { DemoServiceInfo, DemoServiceId } from './catalog.js';
import type { Tally } from './tally.js';

/** Figures of one service in one run. */
export interface ServiceReport {
  readonly serviceId: DemoServiceId;
  readonly category: string;
  readonly offered: number;
  readonly good: number;
  readonly late: number;
  readonly dropped: Readonly<Record<string, number>>;
  /** Dropped before the SLO ran out: given up on an estimate (see `ServiceTally.droppedEarly`). */
  readonly droppedEarly: number;
  /** Dropped once the SLO had run out (a queue timeout), or with no time (a stream refused whole, aborted). */
  readonly expired: number;
  readonly goodputPerSec: number;
  readonly attainment: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly offloads: number;
}

/** Goodput and attainment of a group (a category, or everything). */
export interface GroupReport {
  readonly offered: number;
  readonly good: number;
  readonly goodputPerSec: number;
  readonly attainment: number;
}

/** Everything one system achieved in one run. */
export interface SystemReport {
  readonly system: string;
  readonly services: readonly ServiceReport[];
  readonly categories: Readonly<Record<string, GroupReport>>;
  readonly overall: GroupReport;
  readonly offloads: number;
}

/** Each service's attainment in a run, on one line (`image 97% chat 100% …`): what a probe lost. */
export function serviceLine(r: SystemReport): string {
  return r.services.map((s) => `${s.serviceId} ${(100 * s.attainment).toFixed(0)}%`).join(' ');
}

/** `latency/single`, `frequency/multi`… */
export const categoryKey = (c: Category): string => `${c.sensitivity}/${c.devices}`;

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function group(items: readonly { offered: number; good: number }[], seconds: number): GroupReport {
  const offered = items.reduce((a, s) => a + s.offered, 0);
  const good = items.reduce((a, s) => a + s.good, 0);
  return { offered, good, goodputPerSec: good / seconds, attainment: offered === 0 ? 1 : good / offered };
}

/** Summarizes a run's tally into per-service, per-category and overall figures. */
export function summarize(o: {
  system: string;
  catalog: readonly DemoServiceInfo[];
  categories: Readonly<Record<string, Category>>;
  tally: Tally;
  offloads: Readonly<Record<string, number>>;
  seconds: number;
}): SystemReport {
  const services = o.catalog.map((s): ServiceReport => {
    const t = o.tally.services[s.id];
    const sorted = [...t.latencies].sort((a, b) => a - b);
    const offloads = s.traffic === 'stream' ? t.offloads : o.offloads[s.id] ?? 0;
    return {
      serviceId: s.id,
      category: categoryKey(o.categories[s.id]!),
      offered: t.offered,
      good: t.good,
      late: t.late,
      dropped: { ...t.dropped },
      droppedEarly: t.droppedEarly,
      expired: Object.values(t.dropped).reduce((a, n) => a + n, 0) - t.droppedEarly,
      goodputPerSec: t.good / o.seconds,
      attainment: t.offered === 0 ? 1 : t.good / t.offered,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      offloads,
    };
  });
  const categories: Record<string, GroupReport> = {};
  for (const key of [...new Set(services.map((s) => s.category))].sort()) {
    categories[key] = group(services.filter((s) => s.category === key), o.seconds);
  }
  return { system: o.system, services, categories, overall: group(services, o.seconds), offloads: services.reduce((a, s) => a + s.offloads, 0) };
}

/** EPARA ÷ baseline, or `null` when the baseline achieved nothing. */
export function ratio(a: number, b: number): number | null {
  return b > 0 ? a / b : a > 0 ? null : 1;
}
