import type { ExperimentReport } from '../report/types.js';
import type { MixKind } from '../workload/production-mix.js';
import { edgeScenario, perServiceCell, RunCounter, r3, runContender, type Contender, type ExperimentContext } from './common.js';

/** EPARA and its ablations: one mechanism off each. */
export const ABLATIONS: readonly Contender[] = [
  { label: 'EPARA', spec: { kind: 'epara' } },
  { label: 'no categorization', spec: { kind: 'epara', categorize: false } },
  { label: 'no offloading', spec: { kind: 'epara', offload: false } },
  { label: 'static placement', spec: { kind: 'epara', periodicPlacement: false } },
  { label: 'no sync', spec: { kind: 'epara', sync: false } },
  { label: 'no locality-aware placement', spec: { kind: 'epara', placementOptions: { locality: false } } },
  { label: 'no re-placement on demand shifts', spec: { kind: 'epara', reactToShifts: false } },
  { label: 'no value weighting (items/s objective)', spec: { kind: 'epara', placementOptions: { valueWeighting: 'per-item' } } },
  { label: 'floor not capped at a fair share of the devices', spec: { kind: 'epara', placementOptions: { floorFairShare: false } } },
  { label: 'equal placements in server order (not nearest the demand)', spec: { kind: 'epara', placementOptions: { nearDemandFirst: false } } },
  { label: '+ access legs in locality (off by default)', spec: { kind: 'epara', accessAwareLocality: true } },
  { label: '+ multi-task co-location (off by default)', spec: { kind: 'epara', placementOptions: { multiTask: true } } },
  { label: '+ co-location priced with core\'s 0.1 slowdown', spec: { kind: 'epara', profileInterference: false, placementOptions: { multiTask: true } } },
  // Share-aware launch acts only where batches share a device: with one service per device (the default) an
  // instance never launches next to another batch, and the row was identical to EPARA at every point.
  { label: '+ share-aware launch with multi-task co-location (off by default)', spec: { kind: 'epara', shareAwareLaunch: true, placementOptions: { multiTask: true } } },
  { label: 'no learned guard', spec: { kind: 'epara', learnedGuard: false } },
  { label: 'plan-sized packs (not for the pinned rate)', spec: { kind: 'epara', ratePacks: false } },
  { label: 'no fill-aware waiting', spec: { kind: 'epara', fillAwareWait: false } },
  { label: 'overload rule from the plan size only', spec: { kind: 'epara', overloadBelowPlan: false } },
  { label: 'no passing over a costly head (skipShrinkingHead: false)', spec: { kind: 'epara', skipShrinkingHead: false } },
  { label: 'full-batch run times in the view (no nextRunMs)', spec: { kind: 'epara', reportNextRun: false } },
  { label: 'no egress backlog in offload decisions', spec: { kind: 'epara', egressAwareOffload: false } },
  { label: 'failing streams stay pinned', spec: { kind: 'epara', unpinFailingStreams: false } },
  { label: 'link charged only once a peer admitted the stream', spec: { kind: 'epara', chargeLinkWhileAdmitting: false } },
  { label: 'refused streams upload every frame (holdRefusedFramesMs: Infinity)', spec: { kind: 'epara', holdRefusedFramesMs: Number.POSITIVE_INFINITY } },
  { label: '+ clients skip hopeless requests (skipHopelessUploadsMs: 20; off by default: no real client hears its server\'s view)', spec: { kind: 'epara', skipHopelessUploadsMs: 20 } },
  { label: '+ clients heed the refusals they heard (heedRefusalsMs: 1000; off by default: no deployed client holds uploads back)', spec: { kind: 'epara', heedRefusalsMs: 1000 } },
];

/** E7: what each mechanism contributes, in the edge world. */
export function runE7(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const durationMs = ctx.quick ? 20_000 : 90_000;
  // The mixed mix below the collapse, and the frequency-only mix near its capacity (where packs matter).
  const points: readonly { scale: number; kind: MixKind }[] = ctx.quick
    ? [{ scale: 4, kind: 'mixed' }, { scale: 12, kind: 'frequency' }]
    : [{ scale: 3, kind: 'mixed' }, { scale: 6, kind: 'mixed' }, { scale: 12, kind: 'frequency' }];
  const counter = new RunCounter(ctx, ABLATIONS.length * points.length);
  const rows: (string | number)[][] = [];
  const figures: Record<string, number> = {};
  for (const [i, { scale, kind }] of points.entries()) {
    const base = edgeScenario(`e7-${kind}-x${scale}`, ctx, scale, durationMs, kind);
    const results = ABLATIONS.map((c) => runContender(base, c, counter));
    const full = results[0]!.result.total.goodputPerSec;
    for (const r of results) {
      const rel = r.result.total.goodputPerSec / Math.max(1e-9, full);
      rows.push([`${kind} ×${scale}`, r.label, r3(r.result.total.goodputPerSec), r3(rel), r3(r.result.total.sloAttainment), perServiceCell(r.result), r.result.total.p99Ms, r3(r.result.total.meanHops), JSON.stringify(r.result.total.drops)]);
      if (i === 0) figures[r.label] = r3(rel);
      else if (kind === 'frequency') figures[`frequency: ${r.label}`] = r3(rel);
    }
  }
  const losers = Object.entries(figures).filter(([k, v]) => !k.endsWith('EPARA') && !k.replace('frequency: ', '').startsWith('+') && v > 1.005).map(([k, v]) => `${k} (${v}×)`);
  return {
    id: 'e7', title: 'Ablations (edge world)', question: 'How much does each EPARA mechanism contribute, with every cost of the edge world paid?',
    seed: ctx.seed, quick: ctx.quick,
    setup: [`Testbed cluster, edgeMix({ scale, kind }) at ${points.map((p) => `${p.kind} ×${p.scale}`).join(', ')}, ${durationMs / 1000} s.`, 'no categorization: every service batched, frames routed as requests; no offloading: hop limit 0; static placement: placed once from the early-window forecast; no sync: the view is the placement\'s; no locality: placement ignores delays between servers; no re-placement on shifts: only the 30 s period re-places; no learned guard: the launch rule trusts the profile and the 2 ms guard (without core\'s LatencyGuard, the runtime\'s learned guard); plan-sized packs: multi-frame instances fill the pack placement planned for the zone\'s rate, not one for the rate pinned to them; no fill-aware waiting: an idle device waits for a partial batch until the head item\'s latest start even when its arrivals cannot fill it; overload rule from the plan size only: under a backlog the launch rule tries batches of at least the plan\'s size, not those between the one a late head allows and the plan\'s; no passing over a costly head: an overloaded instance serves a head item that only a small batch can still save in that batch, however many more items a batch of later ones would complete; full-batch run times in the view: servers report only the plan batch\'s run time, so peers route as if every request rode a full batch; no value weighting: placement maximises items/s; floor not capped: every service\'s 50 % floor counts first however many devices it takes; equal placements in server order: among placements of a service that serve the same demand, placement takes the first server rather than the one nearest where the service\'s demand enters; no egress backlog: offload decisions ignore what the server already sent on its own link; failing streams stay pinned: a stream whose frames almost all expire keeps the rate it holds at its instance; link charged only once admitted: the access server counts a stream it sends to a peer against its own link only when the peer\'s answer is back, not while the admission travels; refused streams upload every frame: the client of a stream its access server refused uploads its frames to be routed one by one even while its access uplink is backed up; Rows starting with + turn on a mechanism that is off by default (share-aware launch on top of multi-task co-location, where batches share a device; access legs in the locality test, multi-task co-location priced with the profiled interference, or with core\'s 0.1).'],
    tables: [{ title: 'Ablations', columns: ['mix × scale', 'variant', 'goodput/s', 'vs EPARA', 'SLO attainment', 'per-service attainment', 'p99 ms', 'mean hops', 'drops'], rows }],
    charts: [],
    notes: [
      losers.length === 0 ? 'No ablation beats full EPARA at any point: every mechanism on by default pays (or is neutral).' : `Switching these off gains goodput (a mechanism on by default that loses there): ${losers.join(', ')}.`,
      'A variant that matches EPARA means that mechanism does not matter for this workload and cluster, not that it never does.',
    ],
    figures,
    wallMs: performance.now() - started,
  };
}
