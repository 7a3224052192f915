import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EparaError, type PlacedInstance } from '@epara/core';
import { plansAtProfileSpeed, servicesAtMeasuredSpeed } from '@epara/core/scheduling';
import { NODE_DEFAULTS } from '@epara/mesh';
import { SWEPT_QUEUE_DELAYS_MS } from './baseline/triton-config.js';
import { calibrate, tritonAt, type Calibration } from './calibrate.js';
import { formatKnee, type CapacityResult } from './capacity.js';
import { headline, type Headline } from './headline.js';
import { bytesPerMs, calibrationMs, capacitySearch, confirmRuns, searchShape, warmupMs } from './capacity-search.js';
import { serviceInfo } from './catalog.js';
import { ChildGroup } from './cluster/children.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import type { SystemName } from './cluster/client-process.js';
import { comparisonTable, cpuLine, entryTable, forecastLines, placementLines, serviceTable, tritonLines } from './format.js';
import { buildLanguageModel } from './models.js';
import { MEASURED_MAX_SHARE, USAGE, linkDelayMs, parseDemoArgs, resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './options.js';
import { cpuPerItemLine, trialRuns } from './cpu-accounting.js';
import { costLines, costRatios, measuredCosts } from './item-costs.js';
import { devicePricing, everyServiceRatio, measureDeviceTime } from './device-time.js';
import { demandOf, nodeIds, planPlacement, uncoveredServices, type ReplicaPolicy } from './placement.js';
import { coverageLines, streamCoverage } from './stream-coverage.js';
import { formatProfile, measureProfiles } from './profiles.js';
import { reportMarkdown } from './report-markdown.js';
import { chartSvg, writeReportFolder } from './report-folder.js';
import { CpuMeter, type MachineLoad } from './reliability.js';
import { finalTable, goodputRatios, median, type RatioSpread, type TrialPair } from './summary.js';
import { runSystem, type SystemRun, type TrialContext } from './trials.js';
import { demoServices, type DemoService } from './services.js';
import { buildWorkload } from './workload.js';

/** What a demo run measured. */
export interface DemoResult {
  readonly options: ResolvedDemoOptions;
  readonly calibration: Calibration;
  readonly placement: readonly PlacedInstance[];
  readonly measuredDelayMs: readonly (readonly number[])[];
  readonly pairs: readonly TrialPair[];
  readonly ratios: Readonly<Record<string, RatioSpread>>;
  /** Each system's capacity at the SLO and their ratio; `null` when the search was skipped (`capacity: false`). */
  readonly capacity: CapacityResult | null;
  /** Which figure answers "does EPARA carry more load at the SLO?", and what the trials' ratio can show. */
  readonly headline: Headline;
  readonly machine: MachineLoad;
  /** The same accounting over the calibration's runs (the trials' load is chosen there). */
  readonly calibrationMachine: MachineLoad;
  /** Pids of every process the demo started (all ended when {@link main} resolves). */
  readonly pids: readonly number[];
  readonly reportFolder: string;
}

/**
 * First fraction of the measured capacity the calibration probes. The capacity figure counts device time only
 * (three 1-thread devices at the baseline's batch sizes); on a 2-core machine serving ten processes the
 * baseline's knee was measured at 12–25% of it, so the search starts there and steps ×√2 either way.
 */
const SEARCH_START = 0.25;
/** Goodput share by which a swept `max_queue_delay` must beat the default's to be kept (see `searchCalibration`). */
const SWEEP_MARGIN = 0.05;

const REPORTS = fileURLToPath(new URL('../reports', import.meta.url));

/**
 * The EPARA demo: an edge cloud of `nodes` OS processes per system, joined over WebSockets through delaying
 * links; profiles the services, calibrates the offered load against the baseline, then runs EPARA and the
 * Triton-like baseline in alternating trials on the same seeded workloads and reports ratios with their range.
 * Every process it started has ended when it resolves or rejects (also on abort or a crashed child).
 *
 * @throws EparaError `INVALID_OPTIONS` for a bad option; `PEER_UNAVAILABLE` when a node process crashed;
 * `ABORTED` when `signal` fired.
 */
export async function main(options: DemoOptions = {}): Promise<DemoResult> {
  const o = resolveDemoOptions(options);
  const group = new ChildGroup();
  const stop = new Promise<never>((_, reject) => {
    group.once('crashed', (e) => reject(new EparaError('PEER_UNAVAILABLE', `${e.name} (pid ${e.pid}) exited unexpectedly (code ${e.code}, signal ${e.signal}); stopping every process`)));
    o.signal?.addEventListener('abort', () => reject(new EparaError('ABORTED', 'stopped')), { once: true });
  });
  stop.catch(() => undefined);
  try {
    return await Promise.race([run(o, group), stop]);
  } finally {
    await group.closeAll();
  }
}

async function run(o: ResolvedDemoOptions, group: ChildGroup): Promise<DemoResult> {
  const log = o.log;
  const ids = nodeIds(o.nodes);
  const delay = (i: number, j: number): number => linkDelayMs(o, i, j);
  log(`EPARA demo: ${o.nodes} edge nodes per system, each its own OS process with one 1-thread worker device; links ${o.delayMs[0]}–${o.delayMs[1]} ms one way, ${o.bandwidthMbps} Mbit/s; ${o.trials} trials × ${o.durationMs / 1000} s per system; seed ${o.seed}`);
  const lm = buildLanguageModel(o.seed);
  // Where the run's time goes, phase by phase (printed at the end: what a shorter run would have to cut).
  const phases: [string, number][] = [];
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    phases.push([name, now - phaseStart]);
    phaseStart = now;
  };
  const t0 = performance.now();
  const profiles = await measureProfiles({ lm, repetitions: o.quick ? 2 : 5 });
  log(`\nprofiles (batch:ms on one 1-thread device, measured in ${((performance.now() - t0) / 1000).toFixed(1)} s):`);
  // A latency request may cross the slowest link and back (one offload, or the baseline's forwarded hop).
  const networkBudgetMs = Math.ceil(2 * o.delayMs[1] + 2);
  // Declared once: these objects are what core places, and what every node's executor and mesh node serve.
  const services = demoServices({ profiles, lm, networkBudgetMs });
  for (const s of services) log(`  ${s.id.padEnd(6)} ${formatProfile(profiles[s.id])}`);
  phase('profiles');

  // The mesh's own ring period, as a deployment that does not tune it runs: ring sync is the one cost an EPARA node
  // pays per second whatever its load (about 5% of a node's event-loop CPU in a trial at 250 ms; docs/demo.md).
  const cluster = await startCluster({ group, nodes: o.nodes, seed: o.seed, services: services.map(serviceInfo), profiles, networkBudgetMs, delayMs: delay, bytesPerMs: bytesPerMs(o), syncPeriodMs: NODE_DEFAULTS.syncPeriodMs, streamAdmission: o.streamAdmission, streamCapacity: o.streamCapacity, streamPackPricing: o.streamPackPricing, streamPackForming: o.streamPackForming, ...(o.eparaPlacement === 'online' ? { onlinePlacementPeriodMs: o.durationMs / 4 } : {}) });
  log(`\nprocesses: ${group.pids.length} (${ids.length} EPARA nodes, ${ids.length} Triton-like sites, ${ids.length} clients, 1 network): ${group.named.map((c) => `${c.name}=${c.pid}`).join(' ')}`);
  log('live dashboards of the EPARA nodes (open while the demo runs):');
  for (const [i, url] of cluster.dashboardUrls.entries()) log(`  ${ids[i]}: ${url}`);
  phase('processes');
  log('measured one-way delays between nodes (ms):');
  for (const [i, row] of cluster.measuredDelayMs.entries()) log(`  ${ids[i]}: ${row.map((d, j) => (i === j ? '-' : `${ids[j]} ${d.toFixed(1)}`)).join(', ')}`);

  const placeholderCats = Object.fromEntries(services.map((s) => [s.id, { sensitivity: s.sensitivity, devices: 'single' as const }]));
  const ctx: TrialContext = { cluster, group, nodes: o.nodes, services: services.map(serviceInfo), categories: placeholderCats, log, progressEverySec: o.quick ? 1 : 2, world: o.world };
  log(`\ncalibrating the offered load on the baseline (runs of ${(calibrationMs(o) / 1000).toFixed(0)} s, a trial's length, after a ${(warmupMs(o) / 1000).toFixed(0)} s warm-up):`);
  const calibrationCpu = new CpuMeter();
  calibrationCpu.begin([process.pid, ...group.pids]);
  const calibration = await calibrate(ctx, {
    specs: services,
    nodes: o.nodes,
    seed: o.seed,
    world: o.world,
    durationMs: calibrationMs(o),
    warmupMs: warmupMs(o),
    start: SEARCH_START,
    // --quick (CI's check of the whole path, not a measurement): one ×2 step from the start, no bisection, the
    // default queue delay only — two or three short probes. EPARA's capacity search steps alike (searchShape).
    ...searchShape(o),
    queueDelaysMs: o.quick ? [] : SWEPT_QUEUE_DELAYS_MS,
    confirmRuns: confirmRuns(o),
    // The sweep's pick on one 5 s reading per value was noise (six quiet runs picked 5, 5, 5, 1, 10 and 10 ms,
    // the knee moving with it): the default is kept unless another value beats it by 5%, each read once on a
    // trial-length run (about the noise of the two 5 s workloads read before, at the same cost).
    sweepRuns: 1,
    sweepMargin: SWEEP_MARGIN,
    ...(o.loadFraction !== undefined ? { fixedFraction: o.loadFraction } : {}),
  });
  calibrationCpu.end([process.pid, ...group.pids]);
  phase('calibration');
  const calibrationMachine = calibrationCpu.result();
  if (calibrationMachine.otherShare !== null) log(`other processes used ${(100 * calibrationMachine.otherShare).toFixed(0)}% of the machine's CPU during the calibration`);
  if (calibration.searched) log(`baseline's knee at max_queue_delay ${calibration.maxQueueDelayMs} ms: ${formatKnee(calibration.knee)}`);
  log(`offered load: ${(100 * calibration.fraction).toFixed(1)}% of the measured capacity (×${calibration.load.toFixed(2)} the base mix; capacity ×${calibration.capacityLoad.toFixed(2)}); baseline max_queue_delay ${calibration.maxQueueDelayMs} ms`);

  const forecast = buildWorkload({ durationMs: o.durationMs, load: calibration.load, nodes: o.nodes, seed: o.seed, world: o.world });
  log(`\nworld: ${o.world === 'edge' ? "the simulator's edge world scaled to a run (image bursts, moving hot spots, chat from the Azure LLM trace, streams that come and go); both systems place from the forecast below, another seed's run" : 'stationary (Poisson at fixed entry shares; both systems place from the exact mean)'}`);
  for (const line of forecastLines(forecast, ids)) log(`  ${line}`);
  let placed = planPlacement(services, forecast, o.nodes, cluster.measuredDelayMs, bytesPerMs(o), { hostRules: o.hostRules, keepLatencyDevices: o.keepLatencyDevices });
  const triton = tritonAt({ specs: services, nodes: o.nodes, seed: o.seed, durationMs: o.durationMs, world: o.world }, calibration.load, calibration.maxQueueDelayMs);
  const rules = o.hostRules === 'core' ? '' : `, replicas where demand enters without one${o.keepLatencyDevices ? ', streams moved off the latency services\' devices' : ''}`;
  log(`\nEPARA placement (allocate + placeServices with locality over the measured delays, servers permuted toward their demand${rules}):`);
  for (const line of placementLines(placed.instances)) log(`  ${line}`);
  // A stream is admitted or refused whole: its service's admissible rate must cover the forecast's streams.
  log('EPARA stream capacity against the forecast (profiles; admission\'s view: the largest fresh pack, net of the device\'s other work):');
  for (const line of coverageLines(streamCoverage(services, placed.instances, demandOf(forecast, services, ids)))) log(`  ${line}`);
  log('Triton-like configuration (the simulator\'s deployable Triton: static placement by forecast and memory, model-analyzer batch):');
  for (const line of tritonLines(triton, ids)) log(`  ${line}`);
  // Online, the mesh's coordinator places from the same forecast and then learns from the arrivals; the demo's own
  // placement (printed above) is what placing once would have loaded.
  if (o.eparaPlacement === 'online') await cluster.setForecast(demandOf(forecast, services, ids));
  else await cluster.place(placed.instances);
  await cluster.configureTriton(triton);
  const trialCtx: TrialContext = { ...ctx, categories: placed.categories };
  // The baseline has just served the calibration runs; EPARA gets the same chance to learn its latencies. Planning
  // on measured costs, the warm-up is a trial long, and measures them (each instance's first batches left out).
  const warmup = await runSystem(trialCtx, { system: 'epara', label: 'EPARA warm-up', seed: o.seed + 999, load: calibration.load, durationMs: o.planCosts === 'measured' ? o.durationMs : warmupMs(o) });
  // Not counted, but printed: a warm-up that loses most of its items says the nodes start cold (an earlier version's quiet runs).
  log('EPARA warm-up per service:');
  for (const line of serviceTable(warmup.report, services)) log(`  ${line}`);
  // The stream check again at the warm-up's measured speed (each service's backend run time ÷ its profile on EPARA's
  // nodes): admission works at this host's speed, which the start-up profiles (a device alone) overstate.
  const measuredSpeed = measureDeviceTime([warmup.usage ?? []], () => false).costRatio;
  const streamRatios = services.filter((s) => s.slo.kind === 'frequency' && measuredSpeed[s.id] !== undefined).map((s) => `${s.id} ${measuredSpeed[s.id]!.toFixed(2)}×`);
  if (streamRatios.length > 0) {
    log(`EPARA stream capacity at the warm-up's measured speed (backend run ÷ profile: ${streamRatios.join(', ')}):`);
    for (const line of coverageLines(streamCoverage(services, placed.instances, demandOf(forecast, services, ids), measuredSpeed))) log(`  ${line}`);
  }
  if (o.hostRules === 'core' && o.planSpeed === 'measured' && o.eparaPlacement === 'static') {
    const replanned = await replanAtMeasuredSpeed(o, trialCtx, { services, forecast, cluster, load: calibration.load, costRatio: measuredSpeed, placed: placed.instances });
    if (replanned) placed = { ...replanned, categories: placed.categories };
  }
  if (o.planCosts !== 'profile') {
    const replanned = await replanOnMeasuredCosts(o, trialCtx, { services, forecast, cluster, load: calibration.load, runs: [warmup.usage ?? []], placed: placed.instances });
    placed = { ...replanned, categories: placed.categories };
  }

  phase('placement and warm-up');
  const cpu = new CpuMeter();
  const pairs = await runTrials(o, trialCtx, calibration.load, group, cpu);
  const machine = cpu.result();
  const ratios = goodputRatios(pairs);
  printResults(o, services, pairs, machine);
  phase('trials');
  // Planning on measured costs, the capacity search's placements use those measured over the trials.
  const replicas = measuredPolicy(o, services, pairs.map((p) => p.epara.usage ?? []), placed.instances);
  const capacity = o.capacity ? await capacitySearch(o, trialCtx, { calibration, services, cluster, bytes: bytesPerMs(o), placed: placed.instances, replicas }) : null;
  if (capacity) phase('capacity search');
  const head = headline(pairs, ratios, capacity);
  log('');
  for (const line of head.lines) log(line);
  const markdown = reportMarkdown({ o, services, calibration, placement: placed.instances, triton, measuredDelayMs: cluster.measuredDelayMs, pairs, ratios, machine, profiles, capacity, headline: head });
  const reportFolder = writeReportFolder({ dir: o.reportDir ?? REPORTS, markdown, svg: chartSvg(pairs, o.durationMs / 1000) });
  log(`\nreport: ${reportFolder}`);
  log(`time by phase: ${phases.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(', ')}; total ${(phases.reduce((a, [, ms]) => a + ms, 0) / 1000).toFixed(1)} s`);
  return { options: o, calibration, placement: placed.instances, measuredDelayMs: cluster.measuredDelayMs, pairs, ratios, capacity, headline: head, machine, calibrationMachine, pids: group.pids, reportFolder };
}

/**
 * The replica rule's inputs for `o.planCosts` from what the nodes measured over `runs` (each node's device usage per
 * run, on the placement `placed`), logged: nothing but `--keep-latency-devices` with `profile`; the measured device
 * time (hand-offs, run time ÷ profile) with `device-time`; the executor's estimates with `measured`.
 */
function measuredPolicy(o: ResolvedDemoOptions, services: readonly DemoService[], runs: Parameters<typeof measuredCosts>[1], placed: readonly PlacedInstance[]): ReplicaPolicy {
  if (o.hostRules === 'core') return { hostRules: 'core' };
  if (o.planCosts === 'profile') return { keepLatencyDevices: o.keepLatencyDevices };
  if (o.planCosts === 'device-time' || o.planCosts === 'consolidate') return deviceTimePolicy(o, services, runs, placed);
  return { ...estimatePolicy(o, services, runs), keepLatencyDevices: o.keepLatencyDevices };
}

/**
 * `planCosts: 'device-time'`: the stream instances on the latency services' servers moved off as far as the other
 * devices have room at their measured device time — the backend's run time ÷ the profile per service and the
 * hand-off every batch pays, stream frames at the packs they would run in (`keepLatencyDevices` at those prices;
 * the replica rule before it keeps the profiles).
 */
function deviceTimePolicy(o: ResolvedDemoOptions, services: readonly DemoService[], runs: Parameters<typeof measuredCosts>[1], placed: readonly PlacedInstance[]): ReplicaPolicy {
  const engines = new Set(services.filter((s) => s.engine !== undefined).map((s): string => s.id));
  const ids = nodeIds(o.nodes);
  const m = measureDeviceTime(runs, (node) => placed.some((p) => p.serverId === ids[node] && engines.has(p.serviceId)));
  const ratios = Object.entries(m.costRatio).map(([id, r]) => `${id} ${r.toFixed(2)}×`).join(', ');
  if (m.handoffMs === undefined) {
    o.log(`device time measured on EPARA's nodes: too few batches for a hand-off figure; the placement keeps the profiles`);
    return { keepLatencyDevices: o.keepLatencyDevices };
  }
  o.log(`device time measured on EPARA's nodes: ${m.handoffMs.toFixed(2)} ms of hand-off per batch (${m.batches} batches); backend run ÷ profile: ${ratios || 'none measured'}`);
  const pricing = devicePricing({ ...m, handoffMs: m.handoffMs }, services.map((s) => s.id), MEASURED_MAX_SHARE);
  // `consolidate`: stream replicas dropped while that device time falls (consolidate-streams.ts), nothing moved.
  return o.planCosts === 'consolidate' ? { keepLatencyDevices: o.keepLatencyDevices, consolidate: pricing } : { deviceTime: pricing };
}

/** `planCosts: 'measured'`: the replica rule plans with the executor's estimates ÷ the profiles. */
function estimatePolicy(o: ResolvedDemoOptions, services: readonly DemoService[], runs: Parameters<typeof measuredCosts>[1]): ReplicaPolicy {
  const costs = measuredCosts(services, runs);
  o.log('per-item device cost measured on EPARA\'s nodes (the executor\'s estimate ÷ the profile, steady batches), which the replica rule plans with:');
  for (const line of costLines(costs)) o.log(`  ${line}`);
  const costRatio = costRatios(costs);
  if (Object.keys(costRatio).length === 0) {
    o.log('  nothing measured: the replica rule keeps the profiles and their cap');
    return {};
  }
  return { costRatio, maxShare: MEASURED_MAX_SHARE };
}

/**
 * `planCosts` other than `profile`: places again with the costs measured in the warm-up; a placement that changed
 * is loaded and warmed up (2 s) before the trials.
 */
async function replanOnMeasuredCosts(
  o: ResolvedDemoOptions,
  ctx: TrialContext,
  c: { services: readonly DemoService[]; forecast: ReturnType<typeof buildWorkload>; cluster: Cluster; load: number; runs: Parameters<typeof measuredCosts>[1]; placed: readonly PlacedInstance[] },
): Promise<ReturnType<typeof planPlacement>> {
  const replanned = planPlacement(c.services, c.forecast, o.nodes, c.cluster.measuredDelayMs, bytesPerMs(o), measuredPolicy(o, c.services, c.runs, c.placed));
  o.log('EPARA placement on the measured costs:');
  for (const line of placementLines(replanned.instances)) o.log(`  ${line}`);
  if (JSON.stringify(replanned.instances) !== JSON.stringify(c.placed)) {
    await c.cluster.place(replanned.instances);
    await runSystem(ctx, { system: 'epara', label: 'EPARA warm-up (new placement)', seed: o.seed + 999, load: c.load, durationMs: o.quick ? 1000 : 2000 });
  }
  return replanned;
}

/**
 * `planSpeed: 'measured'`: core's placement made again with each service's profiles scaled by the warm-up's measured
 * backend time ÷ profile (`servicesAtMeasuredSpeed`), its plans loaded at the profiles' speed (`plansAtProfileSpeed`:
 * the runtime scales a plan by the speed it learns itself); a changed placement is loaded and warmed up (2 s).
 * Undefined when the placement stays as it is (nothing measured, or the same instances).
 */
async function replanAtMeasuredSpeed(
  o: ResolvedDemoOptions,
  ctx: TrialContext,
  c: { services: readonly DemoService[]; forecast: ReturnType<typeof buildWorkload>; cluster: Cluster; load: number; costRatio: Readonly<Record<string, number>>; placed: readonly PlacedInstance[] },
): Promise<ReturnType<typeof planPlacement> | undefined> {
  const costRatio = everyServiceRatio(c.services.map((s) => s.id), c.costRatio);
  if (Object.keys(costRatio).length === 0) {
    o.log('EPARA placement kept: the warm-up measured no service (too few batches)');
    return undefined;
  }
  const atSpeed = planPlacement(servicesAtMeasuredSpeed(c.services, costRatio), c.forecast, o.nodes, c.cluster.measuredDelayMs, bytesPerMs(o), { hostRules: 'core' });
  const replanned = { ...atSpeed, instances: plansAtProfileSpeed(atSpeed.instances, costRatio), added: plansAtProfileSpeed(atSpeed.added, costRatio) };
  const same = sameInstances(replanned.instances, c.placed);
  const ratios = Object.entries(costRatio).map(([id, r]) => `${id} ${r.toFixed(2)}×${c.costRatio[id] === undefined ? ' (median)' : ''}`).join(', ');
  const uncovered = uncoveredServices(replanned.instances, c.services);
  if (uncovered.length > 0) {
    o.log(`EPARA placement kept: made again at the warm-up's measured speed (${ratios}) it would leave ${uncovered.join(', ')} without an instance`);
    return undefined;
  }
  o.log(`EPARA placement made again at the warm-up's measured speed (core's placeServices on profiles × backend run ÷ profile: ${ratios})${same ? ': unchanged' : ':'}`);
  if (same) return undefined;
  for (const line of placementLines(replanned.instances)) o.log(`  ${line}`);
  o.log("EPARA stream capacity of that placement at the warm-up's measured speed:");
  for (const line of coverageLines(streamCoverage(c.services, replanned.instances, demandOf(c.forecast, c.services, nodeIds(o.nodes)), costRatio))) o.log(`  ${line}`);
  await c.cluster.place(replanned.instances);
  await runSystem(ctx, { system: 'epara', label: 'EPARA warm-up (new placement)', seed: o.seed + 999, load: c.load, durationMs: o.quick ? 1000 : 2000 });
  return replanned;
}

/** Whether two placements hold the same services on the same servers at the same batch sizes. */
function sameInstances(a: readonly PlacedInstance[], b: readonly PlacedInstance[]): boolean {
  const key = (x: readonly PlacedInstance[]): string => x.map((p) => `${p.serverId}/${p.serviceId}/${p.plan.batchSize}/${p.deviceIds.join(',')}`).sort().join(' ');
  return key(a) === key(b);
}

async function runTrials(o: ResolvedDemoOptions, ctx: TrialContext, load: number, group: ChildGroup, cpu: CpuMeter): Promise<TrialPair[]> {
  const pairs: TrialPair[] = [];
  for (let t = 0; t < o.trials; t++) {
    const order: SystemName[] = t % 2 === 0 ? ['epara', 'triton'] : ['triton', 'epara'];
    const seed = o.seed + t;
    const runs: Partial<Record<SystemName, SystemRun>> = {};
    o.log(`\ntrial ${t + 1}/${o.trials} (seed ${seed}, ${order.join(' then ')}):`);
    for (const system of order) {
      const pids = [process.pid, ...group.pids];
      cpu.begin(pids);
      runs[system] = await runSystem(ctx, { system, label: `trial ${t + 1} ${system === 'epara' ? 'EPARA' : 'Triton-like'}`, seed, load, durationMs: o.durationMs });
      cpu.end(pids);
      const r = runs[system]!.report.overall;
      o.log(`  → ${system === 'epara' ? 'EPARA' : 'Triton-like'}: goodput ${r.goodputPerSec.toFixed(1)}/s, attainment ${(100 * r.attainment).toFixed(1)}%`);
    }
    pairs.push({ trial: t, seed, order, epara: runs.epara!, triton: runs.triton! });
  }
  return pairs;
}

function printResults(o: ResolvedDemoOptions, services: readonly DemoService[], pairs: readonly TrialPair[], machine: MachineLoad): void {
  const last = pairs[pairs.length - 1]!;
  o.log(`\nlast trial, EPARA per service:`);
  for (const line of serviceTable(last.epara.report, services)) o.log(`  ${line}`);
  o.log('last trial, EPARA per service and entry node:');
  for (const line of entryTable(last.epara, services, nodeIds(o.nodes))) o.log(`  ${line}`);
  o.log(`  ${cpuLine(last.epara)}`);
  o.log('last trial, Triton-like per service:');
  for (const line of serviceTable(last.triton.report, services)) o.log(`  ${line}`);
  o.log('last trial, Triton-like per service and entry node:');
  for (const line of entryTable(last.triton, services, nodeIds(o.nodes))) o.log(`  ${line}`);
  o.log(`  ${cpuLine(last.triton)}`);
  o.log('last trial, by category:');
  for (const line of comparisonTable(last.epara.report, last.triton.report)) o.log(`  ${line}`);
  o.log(`\nEPARA vs Triton-like over ${pairs.length} interleaved trials (median of the per-trial ratio, and its range):`);
  for (const line of finalTable(pairs)) o.log(`  ${line}`);
  const cpuPerItem = cpuPerItemLine(trialRuns(pairs, o.durationMs / 1000));
  if (cpuPerItem) o.log(`  ${cpuPerItem}`);
  const other = machine.otherShare === null ? `load average ${machine.loadAvg1.toFixed(1)}` : `other processes used ${(100 * machine.otherShare).toFixed(0)}% of the machine's CPU during the trials (the demo ${(100 * (machine.demoShare ?? 0)).toFixed(0)}%), load average ${machine.loadAvg1.toFixed(1)} on ${machine.cores} cores`;
  if (machine.reliable) o.log(`machine: ${other} — reliable`);
  else o.log(`machine: ${other} — UNRELIABLE: other work competed for the cores, the ratios above are not a clean verdict; rerun on a quiet machine`);
}

/** The last line: one JSON object with the headline figures. */
export function resultLine(r: DemoResult): string {
  const round = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);
  const flat = r.measuredDelayMs.flatMap((row, i) => row.filter((_, j) => j !== i));
  return JSON.stringify({
    ratioMedian: round(r.ratios['overall']?.median),
    ratioMin: round(r.ratios['overall']?.min),
    ratioMax: round(r.ratios['overall']?.max),
    latencyRatioMedian: round(r.ratios['latency']?.median),
    frequencyRatioMedian: round(r.ratios['frequency']?.median),
    // Where the trials ran relative to the baseline's 90% line: below 0.9 means past its knee, as intended.
    eparaAttainment: round(median(r.pairs.map((p) => p.epara.report.overall.attainment))),
    baselineAttainment: round(median(r.pairs.map((p) => p.triton.report.overall.attainment))),
    // The largest goodput ratio possible at that load (1 ÷ the baseline's attainment, median over trials).
    ratioCeiling: round(r.headline.ratioCeiling),
    trials: r.pairs.length,
    nodeProcesses: r.options.nodes,
    interNodeDelayMs: round(flat.reduce((a, b) => a + b, 0) / Math.max(1, flat.length)),
    reliable: r.machine.reliable,
    loadFraction: round(r.calibration.fraction),
    world: r.options.world,
    otherCpuShare: round(r.machine.otherShare),
    // The same during the calibration: a busy machine there moves the load the trials run at.
    calibrationOtherCpuShare: round(r.calibrationMachine.otherShare),
    loadAvg1: round(r.machine.loadAvg1),
    processes: r.pids.length,
    report: r.reportFolder,
    // The answer to "does EPARA carry more load at the SLO?": more, less, within resolution, not measured.
    capacityVerdict: r.headline.capacityVerdict,
    capacityRatio: round(r.capacity?.ratio),
    capacityRatioMin: round(r.capacity?.ratioMin),
    capacityRatioMax: round(r.capacity?.ratioMax),
    eparaCapacity: round(r.capacity?.epara.passed),
    baselineCapacity: round(r.capacity?.baseline.passed),
  });
}

async function cli(): Promise<void> {
  setMaxListeners(0);
  const { options, help } = parseDemoArgs(process.argv.slice(2));
  if (help) return void console.log(USAGE);
  // Ctrl-C: stop every process the demo started, then leave. Twice: leave at once (children follow: their
  // IPC channel closes and they exit).
  const abort = new AbortController();
  process.once('SIGINT', () => {
    console.log('\nstopping every process of the demo (Ctrl-C again to quit at once)…');
    abort.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  try {
    const result = await main({ ...options, signal: abort.signal });
    console.log(resultLine(result));
  } catch (err) {
    if (abort.signal.aborted) {
      console.log('stopped; every process has ended');
      process.exitCode = 130;
      return;
    }
    throw err;
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  cli()
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    })
    // Every child has ended by now (main waits for it); work still running here after an abort or a crash
    // (a profiling run, a timer) must not keep the demo alive.
    .finally(() => process.exit());
}

export type { Cluster };
