import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { PlacedInstance } from '@epara/core';
import { tritonConfig, type TritonConfig } from './baseline/triton-config.js';
import { DEMO_SERVICES, serviceSpec } from './catalog.js';
import { executorServices } from './executor-services.js';
import { comparisonTable, placementLines, serviceTable, tritonLines } from './format.js';
import { InputFactory } from './inputs.js';
import { buildLanguageModel } from './models.js';
import { USAGE, parseDemoArgs, resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './options.js';
import { runEpara, runTriton, type MeshFigures } from './phases.js';
import { nodeIds, planPlacement } from './placement.js';
import { formatProfile, measureProfiles, type DemoProfiles } from './profiles.js';
import { ratio, type SystemReport } from './report.js';
import { SWEEP_DURATION_SEC, sweep, sweepLine, sweepTable } from './sweep.js';
import { buildWorkload } from './workload.js';

/** What a demo run measured (also printed as the last line, as JSON). */
export interface DemoResult {
  readonly durationSec: number;
  readonly load: number;
  readonly nodes: number;
  readonly seed: number;
  readonly placement: readonly { serverId: string; serviceId: string; instanceId: string; strategy: string; batchSize: number }[];
  readonly triton: TritonConfig;
  readonly epara: SystemReport;
  readonly tritonLike: SystemReport;
  readonly mesh: MeshFigures;
  /** EPARA ÷ Triton-like, per category and overall (`null` when the baseline achieved nothing). */
  readonly ratios: Readonly<Record<string, { goodput: number | null; attainment: number | null }>>;
}

/**
 * The EPARA demo: profiles the models, places the services with core's allocator and placement, runs a mixed
 * workload on a 3-node mesh over loopback WebSockets, then the same workload on a Triton-like configuration,
 * and reports both with ratios.
 *
 * @throws EparaError `INVALID_OPTIONS` for a bad option.
 * @example
 * ```ts
 * const result = await main({ quick: true, duration: 3, log: () => {} });
 * console.log(result.ratios.overall);
 * ```
 */
export async function main(options: DemoOptions = {}): Promise<DemoResult> {
  const o = resolveDemoOptions(options);
  o.log(`EPARA demo: ${o.nodes} edge servers on loopback WebSockets, one 1-thread worker device each; ${o.durationMs / 1000} s of mixed load ×${o.load}, seed ${o.seed}`);
  const measured = await profileDemo(o);
  return compare(o, measured);
}

/** The language model of the run and the profiles measured at start-up (shared by every load of a sweep). */
export interface MeasuredModels {
  readonly lm: Uint8Array;
  readonly profiles: DemoProfiles;
}

/** Builds the language model and measures every service's profile on a temporary 1-thread device. */
export async function profileDemo(o: ResolvedDemoOptions): Promise<MeasuredModels> {
  const lm = buildLanguageModel(o.seed);
  const t0 = performance.now();
  const profiles = await measureProfiles({ lm, repetitions: o.quick ? 3 : 5, ...(o.signal ? { signal: o.signal } : {}) });
  o.log(`\nprofiles (batch:ms on one 1-thread device, measured in ${((performance.now() - t0) / 1000).toFixed(1)} s):`);
  for (const s of DEMO_SERVICES) o.log(`  ${s.id.padEnd(6)} ${formatProfile(profiles[s.id])}`);
  return { lm, profiles };
}

/** Places, runs EPARA then the Triton-like baseline on the same workload at `o.load`, and reports both. */
export async function compare(o: ResolvedDemoOptions, { lm, profiles }: MeasuredModels): Promise<DemoResult> {
  const log = o.log;
  const ids = nodeIds(o.nodes);
  const specs = DEMO_SERVICES.map((s) => serviceSpec(s, profiles[s.id]));
  const workload = buildWorkload({ durationMs: o.durationMs, load: o.load, nodes: o.nodes, seed: o.seed });
  const placed = planPlacement(specs, workload, o.nodes);
  log(`\nEPARA placement (core allocate + placeServices from the average demand; predicted goodput ${placed.result.goodputPerSec.toFixed(0)} items/s):`);
  for (const line of placementLines(placed.instances)) log(`  ${line}`);
  for (const a of placed.added) log(`  (${a.serviceId} on ${a.serverId} added by the demo: the greedy left it without an instance)`);
  const triton = tritonConfig({ catalog: DEMO_SERVICES, profiles, workload, nodes: o.nodes });
  log('\nTriton-like configuration (fixed dynamic batching, no offloading, static replicas by demand, bin-packed by memory):');
  for (const line of tritonLines(triton, ids)) log(`  ${line}`);

  const inputs = new InputFactory(o.seed);
  const ctx = { o, workload, inputs, categories: placed.categories };
  log(`\nrunning ${workload.requests.length} requests and ${workload.streams.length} streams on EPARA…`);
  const { report: epara, mesh } = await runEpara(ctx, { specs, services: executorServices(specs, profiles, lm), placement: placed.instances });
  log(`running the same workload on the Triton-like baseline…`);
  const tritonLike = await runTriton(ctx, { config: triton, profiles, lm });

  log('\nEPARA, per service:');
  for (const line of serviceTable(epara, DEMO_SERVICES)) log(`  ${line}`);
  log('\nTriton-like, per service:');
  for (const line of serviceTable(tritonLike, DEMO_SERVICES)) log(`  ${line}`);
  log('\nEPARA vs Triton-like (same seed, same arrivals, same duration):');
  for (const line of comparisonTable(epara, tritonLike)) log(`  ${line}`);
  if (o.signal?.aborted) log('\n(stopped early: items never offered count as ABORTED, so the two runs are not comparable)');
  log(`\nmesh: ${mesh.offloaded} forwards, ${mesh.received} received from peers, ${mesh.rejected} rejected at entry, ${mesh.syncRounds} ring rounds (${(mesh.syncBytesSent / 1024).toFixed(0)} KiB)`);

  const ratios: Record<string, { goodput: number | null; attainment: number | null }> = {};
  for (const k of Object.keys(epara.categories)) {
    const a = epara.categories[k]!;
    const b = tritonLike.categories[k]!;
    ratios[k] = { goodput: ratio(a.goodputPerSec, b.goodputPerSec), attainment: ratio(a.attainment, b.attainment) };
  }
  ratios['overall'] = { goodput: ratio(epara.overall.goodputPerSec, tritonLike.overall.goodputPerSec), attainment: ratio(epara.overall.attainment, tritonLike.overall.attainment) };
  return {
    durationSec: o.durationMs / 1000,
    load: o.load,
    nodes: o.nodes,
    seed: o.seed,
    placement: placed.instances.map((p: PlacedInstance) => ({ serverId: p.serverId, serviceId: p.serviceId, instanceId: p.instanceId, strategy: `${p.plan.requestStrategy}/${p.plan.serviceStrategy}`, batchSize: p.plan.batchSize })),
    triton,
    epara,
    tritonLike,
    mesh,
    ratios,
  };
}

/** The figures of the last line: compact (no latency lists), one JSON object. */
export function resultLine(r: DemoResult): string {
  const slim = (s: SystemReport) => ({
    goodputPerSec: round(s.overall.goodputPerSec),
    attainment: round(s.overall.attainment),
    offloads: s.offloads,
    categories: Object.fromEntries(Object.entries(s.categories).map(([k, g]) => [k, { goodputPerSec: round(g.goodputPerSec), attainment: round(g.attainment) }])),
    services: Object.fromEntries(s.services.map((x) => [x.serviceId, { offered: x.offered, good: x.good, late: x.late, dropped: x.dropped, p50Ms: round(x.p50Ms), p99Ms: round(x.p99Ms), offloads: x.offloads }])),
  });
  const ratios = Object.fromEntries(Object.entries(r.ratios).map(([k, v]) => [k, { goodput: round(v.goodput), attainment: round(v.attainment) }]));
  return JSON.stringify({ demo: 'epara', durationSec: r.durationSec, load: r.load, nodes: r.nodes, seed: r.seed, ratios, epara: slim(r.epara), tritonLike: slim(r.tritonLike), mesh: r.mesh, placement: r.placement.map((p) => `${p.serviceId}@${p.serverId}`) });
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}

async function cli(): Promise<void> {
  // Each queued frame of a runtime stream listens on the stream's abort signal; dozens may queue under load.
  setMaxListeners(0);
  const { options, help, sweep: sweeping, loads } = parseDemoArgs(process.argv.slice(2));
  if (help) return void console.log(USAGE);
  // Ctrl-C once: stop feeding work, let everything in flight settle, close cleanly and report what ran
  // (items not yet offered count as ABORTED). Twice: leave at once.
  const stop = new AbortController();
  process.once('SIGINT', () => {
    console.log('\nstopping: settling what is in flight (Ctrl-C again to quit at once)…');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  if (sweeping) {
    const rows = await sweep({ ...options, ...(loads ? { loads } : {}), signal: stop.signal });
    console.log('\nEPARA vs Triton-like per load (overall, same seed and arrivals per load):');
    for (const line of sweepTable(rows)) console.log(`  ${line}`);
    console.log(sweepLine(rows, options.duration ?? SWEEP_DURATION_SEC));
  } else {
    const result = await main({ ...options, signal: stop.signal });
    console.log(resultLine(result));
  }
  process.removeAllListeners('SIGINT');
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  cli().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
