import { latencyAt } from '@epara/core';
import { DEVICE_KINDS } from '../model/hardware.js';
import type { SimService } from '../model/services.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario } from '../scenario/scenario.js';
import { simulate } from '../simulate.js';
import type { MixKind } from '../workload/production-mix.js';
import type { SimSystem } from '../world/system.js';
import type { DropReason, SimRequest } from '../world/types.js';
import type { World } from '../world/world.js';
import { DEPLOYABLE_BASELINES, edgeScenario, MAIN_SYSTEMS, TRITON_DELAYS_MS, UPPER_BOUND, type ExperimentContext } from './common.js';

/** Where an offered item ended (see {@link lossBreakdown}). */
export const LOSS_CLASSES = ['good', 'uplink', 'infeasible', 'refused', 'noInstance', 'expired', 'late', 'failed', 'unfinished'] as const;
/** One of {@link LOSS_CLASSES}. */
export type LossClass = (typeof LOSS_CLASSES)[number];
/** Items counted per {@link LossClass}. */
export type LossTally = Record<LossClass, number>;

/** Why a feasible item was refused at routing or admission: `OVERLOADED` (no instance with room by the estimate), `DEADLINE_INFEASIBLE` (none finishes it in time by the estimate), `HOP_LIMIT`. */
export type RefusalTally = Partial<Record<'OVERLOADED' | 'DEADLINE_INFEASIBLE' | 'HOP_LIMIT', number>>;

/** One run's items by class, in total and per service id, and the `refused` class split by reason. */
export interface LossBreakdown {
  readonly result: RunResult;
  readonly total: LossTally;
  readonly perService: Readonly<Record<string, LossTally>>;
  readonly refusals: RefusalTally;
  readonly perServiceRefusals: Readonly<Record<string, RefusalTally>>;
}

function blank(): LossTally {
  return Object.fromEntries(LOSS_CLASSES.map((c) => [c, 0])) as LossTally;
}

/**
 * Batch-1 run time of this item alone on one device of `kind` (null when the kind cannot hold the model): the
 * profile at batch 1, or for an LLM its own prompt and answer (as the world runs it, see `actualMs`).
 */
function soloMs(svc: SimService, req: SimRequest, kind: string): number | null {
  const profile = svc.spec.profiles[kind];
  if (profile === undefined) return null;
  const llm = svc.llm;
  if (llm === undefined) return latencyAt(profile, 1);
  return (DEVICE_KINDS[kind]?.slowdown ?? 1) * (req.promptTokens * llm.prefillMsPerToken + req.outputTokens * (llm.decodeFixedMs + llm.decodePerItemMs));
}

/**
 * True when no system could answer the item in time from where and when it reached its access server: the
 * uncontended transfer to the server that would run it fastest, its run alone there and the result's way back
 * (to the access server, then down the access link) already pass its deadline.
 */
function infeasibleOnArrival(w: World, req: SimRequest, at: number, server: number): boolean {
  const svc = w.services[req.service]!;
  const up = w.payloadOf(req);
  const down = req.outputTokens > 0 ? 256 + 4 * req.outputTokens : svc.responseBytes;
  let best = Infinity;
  for (let j = 0; j < w.servers.length; j++) {
    const run = soloMs(svc, req, w.servers[j]!.preset.deviceKind);
    if (run === null) continue;
    best = Math.min(best, w.network.transferMs(server, j, up) + run + w.network.transferMs(j, server, down));
  }
  return at + best + w.network.downlinkMs(server, down) > req.dueAt;
}

function byReason(reason: DropReason): LossClass {
  switch (reason) {
    case 'OVERLOADED': case 'DEADLINE_INFEASIBLE': case 'HOP_LIMIT': return 'refused';
    case 'NO_INSTANCE': return 'noInstance';
    case 'DEADLINE_EXCEEDED': case 'STALE_FRAME': return 'expired';
    case 'UNFINISHED': return 'unfinished';
    default: return 'failed';
  }
}

/**
 * Runs one scenario and puts every counted item into exactly one class: `good`; infeasible for every system —
 * `uplink` (its client skipped the upload: the access uplink could not deliver it in time) or `infeasible`
 * (it reached its access server too late for any system, by the optimistic test of `infeasibleOnArrival`);
 * of the feasible rest, `refused` at routing or admission, `noInstance`, `expired` in a queue, `late`, `failed`
 * (a crash or a dead peer) or `unfinished` (in flight when the run ended). It watches the run from outside (the
 * system's `onRequest` is wrapped to note when and where each item first reached a server; the collector's
 * settle observer classifies it): the simulated behaviour is the same as {@link simulate}'s.
 */
export function lossBreakdown(scenario: Scenario): LossBreakdown {
  // Keyed by the request itself: a sharded run simulates each zone in a world of its own, whose request ids restart at 0.
  const arrived = new Map<SimRequest, { at: number; server: number }>();
  const total = blank();
  const perService: Record<string, LossTally> = {};
  const refusals: Record<string, number> = {};
  const perServiceRefusals: Record<string, Record<string, number>> = {};
  const count = (w: World, req: SimRequest, c: LossClass, reason?: DropReason): void => {
    total[c]++;
    const id = w.services[req.service]!.spec.id;
    (perService[id] ??= blank())[c]++;
    if (c !== 'refused' || reason === undefined) return;
    refusals[reason] = (refusals[reason] ?? 0) + 1;
    const mine = (perServiceRefusals[id] ??= {});
    mine[reason] = (mine[reason] ?? 0) + 1;
  };
  const wrap = (inner: SimSystem): SimSystem => ({
    name: inner.name,
    start(world) {
      world.metrics.observer = (req, outcome) => {
        const a = arrived.get(req);
        arrived.delete(req);
        if (outcome === 'good') return count(world, req, 'good');
        if (a === undefined) return outcome === 'DEADLINE_INFEASIBLE' ? count(world, req, 'uplink') : outcome === 'late' ? count(world, req, 'late') : count(world, req, byReason(outcome), outcome);
        if (infeasibleOnArrival(world, req, a.at, a.server)) return count(world, req, 'infeasible');
        if (outcome === 'late') count(world, req, 'late');
        else count(world, req, byReason(outcome), outcome);
      };
      inner.start(world);
    },
    onRequest(world, req, server) {
      if (!arrived.has(req)) arrived.set(req, { at: world.clock.now(), server });
      inner.onRequest(world, req, server);
    },
    onStreamStart: (world, stream) => inner.onStreamStart(world, stream),
    onStreamEnd: (world, stream) => inner.onStreamEnd(world, stream),
    onEvent: (world, kind, a, ref) => inner.onEvent(world, kind, a, ref),
    onFailure: (world, server, device, recovered) => inner.onFailure(world, server, device, recovered),
    onInstanceChange: (world, inst) => inner.onInstanceChange(world, inst),
    ...(inner.onBatchDone === undefined ? {} : { onBatchDone: inner.onBatchDone.bind(inner) }),
    ...(inner.skipsUpload === undefined ? {} : { skipsUpload: inner.skipsUpload.bind(inner) }),
    ...(inner.holdsFrame === undefined ? {} : { holdsFrame: inner.holdsFrame.bind(inner) }),
    describe: () => inner.describe(),
  });
  const result = simulate(scenario, { wrapSystem: wrap });
  // Items still in flight at the end are counted by the summary (in total only), never settled.
  total.unfinished += result.total.drops.UNFINISHED ?? 0;
  return { result, total, perService, refusals, perServiceRefusals };
}

/** One row of {@link runLossBreakdown}: a system's classes at one load point. */
export interface LossRow {
  readonly kind: MixKind;
  readonly scale: number;
  /** `EPARA`, the best deployable baseline's label, or `upper bound`. */
  readonly system: string;
  readonly goodputPerSec: number;
  readonly total: LossTally;
  readonly perService: Readonly<Record<string, LossTally>>;
}

/**
 * The loss breakdown of the quick E1 sweep's points (same scenarios, 20 s runs) for EPARA, the best deployable
 * baseline at each point (Triton at its best `max_queue_delay`) and the upper bound. EPARA runs with
 * `ctx.eparaOptions` when given.
 */
export function runLossBreakdown(ctx: ExperimentContext, kind: MixKind, scales: readonly number[]): LossRow[] {
  const rows: LossRow[] = [];
  const durationMs = ctx.quick ? 20_000 : 90_000;
  for (const scale of scales) {
    const base = edgeScenario(`e1-${kind}-x${scale}`, ctx, scale, durationMs, kind);
    const runs: [string, LossBreakdown][] = [];
    for (const c of MAIN_SYSTEMS) {
      const specs = c.spec.kind === 'triton' ? TRITON_DELAYS_MS.map((d) => ({ ...c.spec, maxQueueDelayMs: d })) : [c.label === 'EPARA' ? { ...c.spec, ...ctx.eparaOptions } : c.spec];
      let best: LossBreakdown | undefined;
      for (const system of specs) {
        const b = lossBreakdown({ ...base, system });
        if (best === undefined || b.result.total.goodputPerSec > best.result.total.goodputPerSec) best = b;
      }
      runs.push([c.label, best!]);
    }
    const deployable = runs.filter(([label]) => DEPLOYABLE_BASELINES.includes(label));
    const bestDeployable = deployable.reduce((a, b) => (b[1].result.total.goodputPerSec > a[1].result.total.goodputPerSec ? b : a));
    for (const [label, b] of [runs.find(([l]) => l === 'EPARA')!, bestDeployable, runs.find(([l]) => l === UPPER_BOUND)!]) {
      rows.push({ kind, scale, system: label === UPPER_BOUND ? 'upper bound' : label, goodputPerSec: b.result.total.goodputPerSec, total: b.total, perService: b.perService });
    }
  }
  return rows;
}
