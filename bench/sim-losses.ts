/**
 * `pnpm bench:sim-losses [mixed|latency|frequency ...] [--scales 4,8]`: where each system's lost items go, per
 * load point of the quick E1 sweep (seed 1, 20 s runs). Every offered item is put in exactly one class:
 *
 * - `good`;
 * - `uplink`: its client skipped it, the access uplink could not deliver it before its deadline (every system
 *   sees the same uplinks: no system could serve it);
 * - `infeasible`: it reached its access server too late for any system: the uncontended transfer to the server
 *   that runs it fastest, its run alone there (batch 1 on the fastest device kind that holds the model) and the
 *   result's way back already pass the deadline;
 * - of the feasible rest: `refused` (rejected at routing or admission: `OVERLOADED`, `DEADLINE_INFEASIBLE`,
 *   `HOP_LIMIT`), `noInstance`, `expired` (dropped in a queue: `DEADLINE_EXCEEDED`, `STALE_FRAME`), `late`
 *   (finished after the deadline), `failed` (`WORKER_CRASHED`, `PEER_UNAVAILABLE`), `unfinished` (still in flight
 *   when the run ended: a baseline's LLM queue).
 *
 * It observes the simulator from outside (a wrapper on the system's `onRequest` and on the metrics' settle
 * calls): no simulated behaviour changes. Diagnostic only; the last line is one JSON object.
 */
import { loadavg } from 'node:os';
import { DEVICE_KINDS } from '../packages/sim/src/model/hardware.js';
import { MetricsCollector } from '../packages/sim/src/metrics/collector.js';
import { SimWorld } from '../packages/sim/src/world/world.js';
import type { DropReason, SimRequest } from '../packages/sim/src/world/types.js';
import type { SimService } from '../packages/sim/src/model/services.js';
import { simulate } from '../packages/sim/src/simulate.js';
import { edgeScenario, MAIN_SYSTEMS, TRITON_DELAYS_MS, UPPER_BOUND, DEPLOYABLE_BASELINES } from '../packages/sim/src/experiments/common.js';
import type { MixKind } from '../packages/sim/src/workload/production-mix.js';
import type { SystemSpec } from '../packages/sim/src/scenario/scenario.js';

const CLASSES = ['good', 'uplink', 'infeasible', 'refused', 'noInstance', 'expired', 'late', 'failed', 'unfinished'] as const;
type LossClass = (typeof CLASSES)[number];
type Tally = Record<LossClass, number>;

let world: SimWorld | null = null;
let tally: Tally = blank();
/** The same classes per service id (printed with `--by-service`). */
let perService: Record<string, Tally> = {};
const arrived = new Map<number, { at: number; server: number }>();

function blank(): Tally {
  return Object.fromEntries(CLASSES.map((c) => [c, 0])) as Tally;
}

/** Batch-1 run time of this item on one device of `kind` (null when the kind cannot hold the model). */
function soloMs(svc: SimService, req: SimRequest, kind: string): number | null {
  const m = DEVICE_KINDS[kind]!;
  if (svc.spec.profiles[kind] === undefined) return null;
  if (svc.llm !== undefined) return m.slowdown * (req.promptTokens * svc.llm.prefillMsPerToken + req.outputTokens * (svc.llm.decodeFixedMs + svc.llm.decodePerItemMs));
  return m.slowdown * (svc.affine!.fixedMs + svc.affine!.perItemMs);
}

/** True when no system could have answered the item in time from where and when it reached its access server. */
function infeasibleOnArrival(w: SimWorld, req: SimRequest, at: number, server: number): boolean {
  const svc = w.services[req.service]!;
  const up = w.payloadOf(req);
  const down = req.outputTokens > 0 ? 256 + 4 * req.outputTokens : svc.responseBytes;
  let best = Infinity;
  for (let j = 0; j < w.servers.length; j++) {
    const run = soloMs(svc, req, w.servers[j]!.preset.deviceKind);
    if (run === null) continue;
    const t = w.network.transferMs(server, j, up) + run + w.network.transferMs(j, server, down);
    if (t < best) best = t;
  }
  return at + best + w.network.downlinkMs(server, down) > req.dueAt;
}

const start = SimWorld.prototype.start;
SimWorld.prototype.start = function (this: SimWorld): void {
  world = this;
  const sys = this.system;
  const onRequest = sys.onRequest.bind(sys);
  (sys as { onRequest: typeof sys.onRequest }).onRequest = (w, req, server) => {
    if (!arrived.has(req.id)) arrived.set(req.id, { at: w.clock.now(), server });
    onRequest(w, req, server);
  };
  start.call(this);
};

function classOf(req: SimRequest): LossClass | null {
  const a = arrived.get(req.id);
  if (a === undefined) return 'uplink';
  return infeasibleOnArrival(world!, req, a.at, a.server) ? 'infeasible' : null;
}

const complete = MetricsCollector.prototype.complete;
MetricsCollector.prototype.complete = function (this: MetricsCollector, req: SimRequest, responseAt: number): void {
  complete.call(this, req, responseAt);
  if (!this.counts(req.emitAt)) return;
  count(req, responseAt <= req.dueAt ? 'good' : classOf(req) ?? 'late');
  arrived.delete(req.id);
};
const drop = MetricsCollector.prototype.drop;
MetricsCollector.prototype.drop = function (this: MetricsCollector, req: SimRequest, reason: DropReason): void {
  drop.call(this, req, reason);
  if (this.counts(req.emitAt)) count(req, classOf(req) ?? byReason(reason));
  arrived.delete(req.id);
};

function count(req: SimRequest, c: LossClass): void {
  tally[c]++;
  const id = world!.services[req.service]!.spec.id;
  (perService[id] ??= blank())[c]++;
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

function run(kind: MixKind, scale: number, spec: SystemSpec): { goodput: number; tally: Tally; perService: Record<string, Tally> } {
  tally = blank();
  perService = {};
  arrived.clear();
  const r = simulate({ ...edgeScenario(`e1-${kind}-x${scale}`, { seed: 1, quick: true }, scale, 20_000, kind), system: spec });
  // Items still in flight when the run ended are counted by the summary, not settled through the collector.
  tally.unfinished += r.total.drops.UNFINISHED ?? 0;
  for (const [id, v] of Object.entries(r.perService)) if ((v.drops.UNFINISHED ?? 0) > 0) (perService[id] ??= blank()).unfinished += v.drops.UNFINISHED!;
  return { goodput: r.total.goodputPerSec, tally, perService };
}

const args = process.argv.slice(2);
const scaleArg = args.indexOf('--scales');
const bySvc = args.includes('--by-service');
const only = scaleArg >= 0 ? args[scaleArg + 1]!.split(',').map(Number) : null;
// `--set name=value`: an EPARA system option for this run (as bench/sim-sweeps.ts).
const eparaOptions: Record<string, unknown> = {};
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--set') continue;
  const [k, v] = args[i + 1]!.split('=');
  eparaOptions[k!] = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
}
const kinds = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--scales' && args[i - 1] !== '--set') as MixKind[];
const SCALES: Record<MixKind, number[]> = { mixed: [1, 2, 3, 4, 6, 8, 10, 12], latency: [1, 2, 3, 4, 6, 8, 10], frequency: [1, 2, 3, 4, 6, 8, 10, 12, 16] } as Record<MixKind, number[]>;
const out: Record<string, unknown>[] = [];
for (const kind of kinds.length ? kinds : (['mixed', 'latency', 'frequency'] as MixKind[])) {
  for (const scale of only ?? SCALES[kind]) {
    const rows: [string, ReturnType<typeof run>][] = [];
    for (const c of MAIN_SYSTEMS) {
      if (c.label === 'EPARA') rows.push([c.label, run(kind, scale, { ...c.spec, ...eparaOptions } as SystemSpec)]);
      else if (c.spec.kind !== 'triton') rows.push([c.label, run(kind, scale, c.spec)]);
      else {
        let best: ReturnType<typeof run> | null = null;
        for (const d of TRITON_DELAYS_MS) {
          const x = run(kind, scale, { ...c.spec, maxQueueDelayMs: d });
          if (best === null || x.goodput > best.goodput) best = x;
        }
        rows.push([c.label, best!]);
      }
    }
    const deployable = rows.filter(([l]) => DEPLOYABLE_BASELINES.includes(l));
    const bestDep = deployable.reduce((a, b) => (b[1].goodput > a[1].goodput ? b : a));
    for (const [label, x] of [rows.find(([l]) => l === 'EPARA')!, bestDep, rows.find(([l]) => l === UPPER_BOUND)!]) {
      const row = { kind, scale, system: label === UPPER_BOUND ? 'upper bound' : label, goodputPerSec: Math.round(x.goodput), ...x.tally };
      out.push(row);
      console.log(JSON.stringify(row));
      if (bySvc) for (const [id, t] of Object.entries(x.perService)) console.log(`  ${id}: ${JSON.stringify(t)}`);
    }
  }
}
console.log(JSON.stringify({ losses: out, loadAvg: loadavg().map((x) => Math.round(x * 10) / 10) }));
