import { latencyAt, type ServiceSpec } from '@epara/core';
import type { DeviceUsage } from './device-usage.js';

/*
 * What a device's work costs in device time when every batch also pays a fixed hand-off (the messages to and
 * from the device's thread, the wait for a core: `handoffMs`), and how large the packs of stream frames grow on
 * it. Counted in the quiet reports: on an image server, 29–53 % of the device's time went to "steps and
 * hand-offs", about 4.5 ms per batch (8.7 s over 1,938 batches in 30 s on a server without chat), against 0.5–1 ms
 * of backend time per VAD or loop frame; a stream served there alone runs in packs of about one frame, so each
 * frame pays a whole hand-off, while on a device serving many streams the frames queued behind a running batch
 * go out together and share it.
 */

/** One service's work on a device. */
export interface DeviceLoad {
  readonly spec: ServiceSpec;
  /** Items/s served on the device. */
  readonly perSec: number;
  /** The plan's batch of a request service (a batch that size shares one hand-off). @default 1 */
  readonly batch?: number;
}

/** How a device's time is priced. */
export interface DeviceTimePricing {
  /** Device time every batch holds beyond its run, ms. */
  readonly handoffMs: number;
  /** Per service, its backend run time on this host ÷ the profile. @default 1 */
  readonly costRatio?: Readonly<Record<string, number>>;
}

/** The priced share of a device and the pack each stream service runs at. */
export interface DeviceTime {
  /** Device time the loads need per unit of time (1 = all of it; above 1, `1 + ρ`, when no pack keeps up in time). */
  readonly share: number;
  /** Mean pack per stream service. */
  readonly packs: Readonly<Record<string, number>>;
}

/** Largest wait for the device a pack may grow over, as a share of the tightest staleness budget. */
const MAX_WAIT_SHARE = 0.5;

/**
 * The device time the loads need, with stream packs as the demo's launch rule forms them: a stream lane launches
 * whatever is queued when the device frees, so a pack is the frame that opened it plus those arriving while it
 * waits for the device, `k = 1 + λ W` (at most one frame per stream of a stateful service, at most its largest
 * batch), and the mean wait for a non-preemptive device is `W = R / (1 − ρ)` with `R = Σ ρᵢ hᵢ / 2` (each batch's
 * hold `hᵢ`, run × cost ratio + hand-off; `ρᵢ` its share). `W` is the smallest wait at which that holds — a busier
 * device makes packs larger, which makes it less busy — searched up to half the tightest staleness budget; past
 * it the device is overloaded (`1 + ρ` at that wait). A request service is priced at its plan's batch.
 */
export function deviceTime(loads: readonly DeviceLoad[], p: DeviceTimePricing): DeviceTime {
  const ratio = (s: ServiceSpec): number => p.costRatio?.[s.id] ?? 1;
  const hold = (s: ServiceSpec, n: number): number => latencyAt(Object.values(s.profiles)[0]!, n) * ratio(s) + p.handoffMs;
  const streams = loads.filter((l) => l.spec.sensitivity === 'frequency' && l.perSec > 0);
  const requests = loads.filter((l) => l.spec.sensitivity !== 'frequency' && l.perSec > 0);
  const packAt = (l: DeviceLoad, waitMs: number): number => {
    const slo = l.spec.slo;
    const rateHz = slo.kind === 'frequency' ? slo.rateHz : 1;
    const cap = Math.max(1, (l.spec as { readonly stateful?: unknown }).stateful !== undefined ? Math.ceil(l.perSec / rateHz) : Number.POSITIVE_INFINITY);
    return Math.min(cap, maxBatchOf(l.spec), 1 + (l.perSec / 1000) * waitMs);
  };
  const at = (waitMs: number): { rho: number; residual: number; packs: Record<string, number> } => {
    let rho = 0;
    let residual = 0;
    const packs: Record<string, number> = {};
    for (const l of requests) {
      const b = Math.max(1, l.batch ?? 1);
      const h = hold(l.spec, b);
      const r = (l.perSec / b / 1000) * h;
      rho += r;
      residual += (r * h) / 2;
    }
    for (const l of streams) {
      const k = packAt(l, waitMs);
      const h = hold(l.spec, k);
      const r = (l.perSec / k / 1000) * h;
      packs[l.spec.id] = k;
      rho += r;
      residual += (r * h) / 2;
    }
    return { rho, residual, packs };
  };
  const budgets = streams.map((l) => (l.spec.slo.kind === 'frequency' ? (l.spec.slo.stalenessMs ?? 1000 / l.spec.slo.rateHz) : Number.POSITIVE_INFINITY));
  const maxWait = MAX_WAIT_SHARE * Math.min(100, ...budgets);
  for (let w = 0; w <= maxWait; w += 0.25) {
    const { rho, residual, packs } = at(w);
    if (streams.length === 0 || (rho < 1 && residual / (1 - rho) <= w)) return { share: rho, packs };
  }
  // Overloaded: above 1, and larger the more the loads need, so that "no busier than it was" still compares.
  const over = at(maxWait);
  return { share: 1 + over.rho, packs: over.packs };
}

/** The largest batch a service's profile measured (the demo's `maxBatch`). */
function maxBatchOf(s: ServiceSpec): number {
  const points = Object.values(s.profiles)[0]!.points;
  return points[points.length - 1]!.batch;
}

/** What the nodes' devices measured over runs: the hand-off per batch and each service's run time ÷ its profile. */
export interface MeasuredDeviceTime {
  /** Device busy time outside the backend per batch, ms; `undefined` with too few batches. */
  readonly handoffMs: number | undefined;
  /** Per service with enough items, backend time ÷ the profile's time for the same batches. */
  readonly costRatio: Readonly<Record<string, number>>;
  /** Batches the hand-off figure counts. */
  readonly batches: number;
}

/** Fewest batches (or items) a figure of {@link measureDeviceTime} counts. */
export const MIN_MEASURED_BATCHES = 50;

/**
 * The measured device time of the runs given (per run, per node): per service, the time its batches spent in the
 * backend ÷ the profile's time for them, and the hand-off per batch — a node's device busy time outside the
 * backend ÷ its batches, over the nodes that ran no generation steps (`enginesOn(node)`: a generation engine's
 * steps are device time outside the batches too); when every node ran them, the lowest per-node figure (an upper
 * bound of the hand-off).
 */
export function measureDeviceTime(runs: readonly (readonly DeviceUsage[])[], enginesOn: (node: number) => boolean): MeasuredDeviceTime {
  const perService = new Map<string, { runMs: number; profileMs: number; items: number }>();
  const perNode: { outsideMs: number; batches: number; engine: boolean }[] = [];
  for (const run of runs) {
    run.forEach((u, node) => {
      const n = (perNode[node] ??= { outsideMs: 0, batches: 0, engine: enginesOn(node) });
      let runMs = 0;
      for (const [id, s] of Object.entries(u.services)) {
        runMs += s.runMs;
        n.batches += s.batches;
        const t = perService.get(id) ?? { runMs: 0, profileMs: 0, items: 0 };
        perService.set(id, { runMs: t.runMs + s.runMs, profileMs: t.profileMs + s.profileMs, items: t.items + s.items });
      }
      n.outsideMs += Math.max(0, u.busyMs - runMs);
    });
  }
  const costRatio: Record<string, number> = {};
  for (const [id, s] of perService) if (s.items >= MIN_MEASURED_BATCHES && s.profileMs > 0) costRatio[id] = s.runMs / s.profileMs;
  const clean = perNode.filter((n) => !n.engine && n.batches > 0);
  const batches = clean.reduce((a, n) => a + n.batches, 0);
  if (batches >= MIN_MEASURED_BATCHES) return { handoffMs: clean.reduce((a, n) => a + n.outsideMs, 0) / batches, costRatio, batches };
  const each = perNode.filter((n) => n.batches >= MIN_MEASURED_BATCHES).map((n) => ({ ms: n.outsideMs / n.batches, batches: n.batches }));
  if (each.length === 0) return { handoffMs: undefined, costRatio, batches: 0 };
  const low = each.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { handoffMs: low.ms, costRatio, batches: low.batches };
}

/** What `keepLatencyDevices` prices devices at on the measured device time (`ReplicaPolicy.deviceTime`). */
export interface DevicePricing {
  readonly handoffMs: number;
  readonly costRatio: Readonly<Record<string, number>>;
  readonly maxShare: number;
}

/**
 * The prices of a measurement with a hand-off figure: every service of `serviceIds` at its measured run ratio, a
 * service that ran no batches (chat's generation steps are not batches) at the median of the measured ones (the
 * lower of the middle two), at the profile when none was measured.
 */
export function devicePricing(m: MeasuredDeviceTime & { readonly handoffMs: number }, serviceIds: readonly string[], maxShare: number): DevicePricing {
  const measured = Object.values(m.costRatio).sort((a, b) => a - b);
  const typical = measured.length === 0 ? 1 : measured[Math.floor((measured.length - 1) / 2)]!;
  return { handoffMs: m.handoffMs, costRatio: Object.fromEntries(serviceIds.map((id) => [id, m.costRatio[id] ?? typical])), maxShare };
}

/**
 * A ratio for every service: its own where the warm-up measured it (enough batches), the median of the measured
 * ones where it did not (the lower median) — the host's slowdown is the machine's, and a service left at its profile beside others
 * scaled 2-4× looks several times cheaper than it is (one run so placed every stream service on one server).
 */
export function everyServiceRatio(ids: readonly string[], measured: Readonly<Record<string, number>>): Record<string, number> {
  const known = Object.entries(measured).filter(([id, r]) => ids.includes(id) && Number.isFinite(r) && r > 0);
  if (known.length === 0) return {};
  const sorted = known.map(([, r]) => r).sort((a, b) => a - b);
  const fill = sorted[Math.floor((sorted.length - 1) / 2)]!; // the lower median, as devicePricing's
  return Object.fromEntries(ids.map((id) => [id, measured[id] !== undefined && Number.isFinite(measured[id]) && measured[id]! > 0 ? measured[id]! : fill]));
}
