import { parseArgs } from 'node:util';
import { invalidOption } from '@epara/core';
import type { StreamPackForming, StreamPackPricing } from '@epara/runtime';
import type { DemoWorld } from './workload.js';

/** Options of the demo ({@link main}); every field has a default in {@link DEMO_DEFAULTS}. */
export interface DemoOptions {
  /** Seconds of workload per system and trial, and per calibration and capacity probe. @default 10 (3 with `quick`) */
  readonly duration?: number;
  /** Trials per system (EPARA and the baseline alternate, order alternating). @default 3 (2 with `quick`) */
  readonly trials?: number;
  /** Edge nodes (one OS process and one 1-thread device each, per system). @default 3 */
  readonly nodes?: number;
  /** Seed of the workloads, inputs and language model. @default 42 */
  readonly seed?: number;
  /**
   * One-way delay between two nodes, ms: `[min, max]`. Neighbouring nodes get `min`, the two farthest `max`,
   * the rest in between (edge sites of one metro area measure about 5–20 ms one way). @default [5, 20]
   */
  readonly delayMs?: readonly [number, number];
  /** Bandwidth of each link between nodes, Mbit/s per direction. @default 1000 */
  readonly bandwidthMbps?: number;
  /**
   * Offered load as a fraction of the measured cluster capacity. Omitted: found by the calibration search
   * (the first fraction at which the baseline falls below 90% SLO attainment).
   */
  readonly loadFraction?: number;
  /** A short run for CI and smoke checks: fewer profiling runs, a shorter search, 2 × 4 s trials. @default false */
  readonly quick?: boolean;
  /**
   * Run the capacity search after the trials (each system's highest load at ≥ 90% attainment, and their
   * ratio: `capacityRatio` in the JSON line). Off: the line's capacity fields are `null`. @default true
   */
  readonly capacity?: boolean;
  /**
   * What EPARA's placement plans with. `'device-time'`: the replica rule on the profiles, then the stream instances
   * on the latency services' servers moved off as far as the other devices have room at the device time measured on
   * EPARA's nodes in its warm-up (for the capacity search, over the trials) — per service the backend's run time ÷
   * the profile, and a hand-off per batch, stream frames priced at the packs they run in
   * ({@link MEASURED_MAX_SHARE} of a device). `'profile'`: each item's time on an idle device, capped at 60% of a device (the rule of earlier
   * versions). `'measured'`: that time × the cost measured on this host (the executor's estimate against the
   * profile, leaving out each instance's first batches; {@link MEASURED_MAX_SHARE} of a device) — from a
   * trial-length warm-up for the trials, from the trials for the capacity search. `'consolidate'`: the replica rule
   * on the profiles, then stream replicas dropped while the device time measured in the warm-up falls and every
   * device stays within {@link MEASURED_MAX_SHARE} or no busier than the busiest was (`consolidate-streams.ts`:
   * fewer, larger packs). @default 'profile' (in one quiet A/B of each, 2026-12-07, `'device-time'` lost the latency
   * group at 0.32–0.36× against 0.83×)
   */
  readonly planCosts?: 'device-time' | 'profile' | 'measured' | 'consolidate';
  /**
   * Where EPARA's instances go. `'core'`: what core's `placeServices` places (with its locality objective over the
   * measured delays), whole servers permuted toward their demand — no instance added or moved off a device it
   * shares. `'replicas'`: then the earlier versions' host rules (replicas where demand enters, overflow hosts,
   * relief of the busiest device; `placement.ts`), which {@link DemoOptions.planCosts} and
   * {@link DemoOptions.keepLatencyDevices} act on. @default 'core'
   */
  readonly hostRules?: 'core' | 'replicas';
  /**
   * Which world the workload comes from: `'edge'`, the simulator's edge world scaled to a run (image bursts, moving
   * hot spots, chat from the Azure LLM trace, streams that come and go, a forecast learned from another seed's early
   * window); `'stationary'`, the demo's world until this version (Poisson at fixed entry shares, the exact mean as
   * forecast), to reproduce the earlier figures. @default 'edge'
   */
  readonly world?: DemoWorld;
  /**
   * How EPARA places. `'static'`: once, from the forecast (and again per load in the capacity search).
   * `'online'`: that placement seeds the mesh's placement coordinator, which re-places every quarter of a trial
   * (the simulator's period is half its hot-spot period) from the larger of the arrivals the nodes report and the
   * forecast. @default 'static'
   */
  readonly eparaPlacement?: 'static' | 'online';
  /**
   * After the replica rule, move stream instances off the devices the latency services use most, to the one they
   * use least when its memory and the share cap allow (`keepLatencyDevices` in latency-devices.ts): images and
   * chat keep their devices, the streams pay a link. An input for an A/B, not a measured gain. @default false
   */
  readonly keepLatencyDevices?: boolean;
  /**
   * Where EPARA's nodes pin a stream (the mesh's `streamAdmission`): `'local-first'`, a local instance with room, else
   * the nearest peer; `'least-wait'`, where its frames wait least behind the other services' work, a peer's round
   * trip counted. @default 'local-first'
   */
  readonly streamAdmission?: 'local-first' | 'least-wait';
  /**
   * The capacity EPARA's stream admission reads (the mesh's `streamCapacity`): `'executor'`, the runtime's as it
   * announces it (its largest fresh pack at the hold time it learned); `'host-ratio'`, that divided again by the
   * node's measured wait ratio (earlier versions; an A/B arm). @default 'executor'
   */
  readonly streamCapacity?: 'executor' | 'host-ratio';
  /**
   * How EPARA's runtime prices a stream's pack at this host's speed (the executor's `streamPackPricing`):
   * `'hand-off-once'`, one per-batch hand-off plus the pack at the backend's learned speed; `'worst-class'`, the
   * largest learned hold ratio of the pack's size and every smaller one (earlier versions; an A/B arm).
   * @default 'hand-off-once'
   */
  readonly streamPackPricing?: StreamPackPricing;
  /**
   * When EPARA's runtime forms a stream's pack on a busy device (the executor's `streamPackForming`): `'when-free'`,
   * from every frame waiting when the device frees; `'send-ahead'`, a pack of the plan's size sent ahead at once
   * (earlier versions; an A/B arm). @default 'when-free'
   */
  readonly streamPackForming?: StreamPackForming;
  /**
   * With `hostRules: 'core'` and static placement, what core's placement plans with after the warm-up: `'measured'`,
   * each service's backend time ÷ profile measured in the warm-up (core's `servicesAtMeasuredSpeed`; a changed
   * placement is loaded and warmed up 2 s); `'profile'`, the start-up profiles only (earlier versions). @default 'measured'
   */
  readonly planSpeed?: 'measured' | 'profile';
  /** Where a report folder is written (a new sub-folder per run). @default `examples/demo/reports` */
  readonly reportDir?: string;
  /** Where lines go. @default console.log */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS = { duration: 10, quickDuration: 3, trials: 3, quickTrials: 2, nodes: 3, seed: 42, delayMs: [5, 20], bandwidthMbps: 1000, planCosts: 'profile', hostRules: 'core', world: 'edge', eparaPlacement: 'static', streamAdmission: 'local-first', streamCapacity: 'executor', streamPackPricing: 'hand-off-once', streamPackForming: 'when-free', planSpeed: 'measured' } as const;

/**
 * The replica rule's cap on a device's predicted share with `planCosts: 'measured'`. Its cap of 60% of profiled
 * time was 83–100% of device wall time in the quiet runs' counters (hand-offs took 28–41% of it); with costs
 * measured in wall time the same rule is kept at the low end of that.
 */
export const MEASURED_MAX_SHARE = 0.85;

/** {@link DemoOptions} with defaults filled and checked. */
export interface ResolvedDemoOptions {
  readonly durationMs: number;
  readonly trials: number;
  readonly nodes: number;
  readonly seed: number;
  readonly delayMs: readonly [number, number];
  readonly bandwidthMbps: number;
  readonly loadFraction: number | undefined;
  readonly quick: boolean;
  readonly capacity: boolean;
  readonly planCosts: 'device-time' | 'profile' | 'measured' | 'consolidate';
  readonly hostRules: 'core' | 'replicas';
  readonly world: DemoWorld;
  readonly eparaPlacement: 'static' | 'online';
  readonly keepLatencyDevices: boolean;
  readonly streamAdmission: 'local-first' | 'least-wait';
  readonly streamCapacity: 'executor' | 'host-ratio';
  readonly streamPackPricing: StreamPackPricing;
  readonly streamPackForming: StreamPackForming;
  readonly planSpeed: 'measured' | 'profile';
  readonly reportDir: string | undefined;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal | undefined;
}

/**
 * Fills and validates the demo's options.
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolveDemoOptions(o: DemoOptions = {}): ResolvedDemoOptions {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  const quick = o.quick ?? false;
  const duration = o.duration ?? (quick ? DEMO_DEFAULTS.quickDuration : DEMO_DEFAULTS.duration);
  if (!(typeof duration === 'number' && duration >= 1 && duration <= 600)) invalidOption('duration', duration, 'seconds in [1, 600]');
  const trials = o.trials ?? (quick ? DEMO_DEFAULTS.quickTrials : DEMO_DEFAULTS.trials);
  if (!(Number.isInteger(trials) && trials >= 1 && trials <= 20)) invalidOption('trials', trials, 'an integer from 1 to 20');
  const nodes = o.nodes ?? DEMO_DEFAULTS.nodes;
  if (!(Number.isInteger(nodes) && nodes >= 2 && nodes <= 8)) invalidOption('nodes', nodes, 'an integer from 2 to 8');
  const seed = o.seed ?? DEMO_DEFAULTS.seed;
  if (!(Number.isInteger(seed) && seed >= 0)) invalidOption('seed', seed, 'a non-negative integer');
  const delayMs = o.delayMs ?? DEMO_DEFAULTS.delayMs;
  if (!(Array.isArray(delayMs) && delayMs.length === 2 && delayMs.every((d) => typeof d === 'number' && d >= 0 && d <= 500) && delayMs[0]! <= delayMs[1]!)) {
    invalidOption('delayMs', delayMs, 'a [min, max] pair of ms in [0, 500], min ≤ max');
  }
  const bandwidthMbps = o.bandwidthMbps ?? DEMO_DEFAULTS.bandwidthMbps;
  if (!(typeof bandwidthMbps === 'number' && bandwidthMbps >= 1 && bandwidthMbps <= 100_000)) invalidOption('bandwidthMbps', bandwidthMbps, 'Mbit/s in [1, 100000]');
  const f = o.loadFraction;
  if (f !== undefined && !(typeof f === 'number' && f > 0 && f <= 5)) invalidOption('loadFraction', f, 'a fraction of capacity in (0, 5]');
  if (o.capacity !== undefined && typeof o.capacity !== 'boolean') invalidOption('capacity', o.capacity, 'a boolean');
  if (o.log !== undefined && typeof o.log !== 'function') invalidOption('log', o.log, 'a function (line) => void');
  const planCosts = o.planCosts ?? DEMO_DEFAULTS.planCosts;
  if (planCosts !== 'device-time' && planCosts !== 'profile' && planCosts !== 'measured' && planCosts !== 'consolidate') invalidOption('planCosts', planCosts, "'device-time', 'profile', 'measured' or 'consolidate'");
  const hostRules = o.hostRules ?? DEMO_DEFAULTS.hostRules;
  if (hostRules !== 'core' && hostRules !== 'replicas') invalidOption('hostRules', hostRules, "'core' or 'replicas'");
  // The replica rule's inputs mean nothing without it: refused rather than silently ignored.
  if (hostRules === 'core' && planCosts !== 'profile') invalidOption('planCosts', planCosts, "'profile' unless hostRules is 'replicas'");
  if (hostRules === 'core' && o.keepLatencyDevices === true) invalidOption('keepLatencyDevices', o.keepLatencyDevices, "false unless hostRules is 'replicas'");
  const world = o.world ?? DEMO_DEFAULTS.world;
  if (world !== 'edge' && world !== 'stationary') invalidOption('world', world, "'edge' or 'stationary'");
  const eparaPlacement = o.eparaPlacement ?? DEMO_DEFAULTS.eparaPlacement;
  if (eparaPlacement !== 'static' && eparaPlacement !== 'online') invalidOption('eparaPlacement', eparaPlacement, "'static' or 'online'");
  if (o.keepLatencyDevices !== undefined && typeof o.keepLatencyDevices !== 'boolean') invalidOption('keepLatencyDevices', o.keepLatencyDevices, 'a boolean');
  const streamAdmission = o.streamAdmission ?? DEMO_DEFAULTS.streamAdmission;
  if (streamAdmission !== 'local-first' && streamAdmission !== 'least-wait') invalidOption('streamAdmission', streamAdmission, "'local-first' or 'least-wait'");
  const streamCapacity = o.streamCapacity ?? DEMO_DEFAULTS.streamCapacity;
  if (streamCapacity !== 'executor' && streamCapacity !== 'host-ratio') invalidOption('streamCapacity', streamCapacity, "'executor' or 'host-ratio'");
  const streamPackPricing = o.streamPackPricing ?? DEMO_DEFAULTS.streamPackPricing;
  if (streamPackPricing !== 'hand-off-once' && streamPackPricing !== 'worst-class') invalidOption('streamPackPricing', streamPackPricing, "'hand-off-once' or 'worst-class'");
  const streamPackForming = o.streamPackForming ?? DEMO_DEFAULTS.streamPackForming;
  if (streamPackForming !== 'when-free' && streamPackForming !== 'send-ahead') invalidOption('streamPackForming', streamPackForming, "'when-free' or 'send-ahead'");
  const planSpeed = o.planSpeed ?? DEMO_DEFAULTS.planSpeed;
  if (planSpeed !== 'measured' && planSpeed !== 'profile') invalidOption('planSpeed', planSpeed, "'measured' or 'profile'");
  return {
    durationMs: duration * 1000,
    trials,
    nodes,
    seed,
    delayMs: [delayMs[0]!, delayMs[1]!],
    bandwidthMbps,
    loadFraction: f,
    quick,
    capacity: o.capacity ?? true,
    planCosts,
    hostRules,
    world,
    eparaPlacement,
    keepLatencyDevices: o.keepLatencyDevices ?? false,
    streamAdmission,
    streamCapacity,
    streamPackPricing,
    streamPackForming,
    planSpeed,
    reportDir: o.reportDir,
    log: o.log ?? ((line) => console.log(line)),
    signal: o.signal,
  };
}

/** One-way delay between nodes `i` and `j` for a `[min, max]` range: by distance along the row of sites. */
export function linkDelayMs(o: Pick<ResolvedDemoOptions, 'delayMs' | 'nodes'>, i: number, j: number): number {
  if (i === j) return 0;
  const [min, max] = o.delayMs;
  const span = Math.max(1, o.nodes - 2);
  return min + ((max - min) * (Math.abs(i - j) - 1)) / span;
}

/** Reads the command line (`--duration 10 --trials 3 --nodes 3 --seed 42 --delay 5-20 --bandwidth 1000 --load 0.9 --quick`). */
export function parseDemoArgs(argv: readonly string[]): { options: DemoOptions; help: boolean } {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      duration: { type: 'string' },
      trials: { type: 'string' },
      nodes: { type: 'string' },
      seed: { type: 'string' },
      delay: { type: 'string' },
      bandwidth: { type: 'string' },
      load: { type: 'string' },
      quick: { type: 'boolean' },
      'no-capacity': { type: 'boolean' },
      'plan-costs': { type: 'string' },
      'host-rules': { type: 'string' },
      world: { type: 'string' },
      'epara-placement': { type: 'string' },
      'keep-latency-devices': { type: 'boolean' },
      'stream-admission': { type: 'string' },
      'stream-capacity': { type: 'string' },
      'stream-pack-pricing': { type: 'string' },
      'stream-pack-forming': { type: 'string' },
      'plan-speed': { type: 'string' },
      'report-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const delay = values.delay?.split('-').map(Number);
  const options: DemoOptions = {
    ...(values.duration !== undefined ? { duration: num(values.duration)! } : {}),
    ...(values.trials !== undefined ? { trials: num(values.trials)! } : {}),
    ...(values.nodes !== undefined ? { nodes: num(values.nodes)! } : {}),
    ...(values.seed !== undefined ? { seed: num(values.seed)! } : {}),
    ...(delay !== undefined ? { delayMs: [delay[0]!, delay[1] ?? delay[0]!] as const } : {}),
    ...(values.bandwidth !== undefined ? { bandwidthMbps: num(values.bandwidth)! } : {}),
    ...(values.load !== undefined ? { loadFraction: num(values.load)! } : {}),
    ...(values['report-dir'] !== undefined ? { reportDir: values['report-dir'] } : {}),
    ...(values.quick ? { quick: true } : {}),
    ...(values['no-capacity'] ? { capacity: false } : {}),
    ...(values['keep-latency-devices'] ? { keepLatencyDevices: true } : {}),
    ...(values.world !== undefined ? { world: values.world as DemoWorld } : {}),
    ...(values['epara-placement'] !== undefined ? { eparaPlacement: values['epara-placement'] as DemoOptions['eparaPlacement'] } : {}),
    ...(values['plan-costs'] !== undefined ? { planCosts: values['plan-costs'] as DemoOptions['planCosts'] } : {}),
    ...(values['host-rules'] !== undefined ? { hostRules: values['host-rules'] as DemoOptions['hostRules'] } : {}),
    ...(values['stream-admission'] !== undefined ? { streamAdmission: values['stream-admission'] as DemoOptions['streamAdmission'] } : {}),
    ...(values['stream-capacity'] !== undefined ? { streamCapacity: values['stream-capacity'] as DemoOptions['streamCapacity'] } : {}),
    ...(values['stream-pack-pricing'] !== undefined ? { streamPackPricing: values['stream-pack-pricing'] as DemoOptions['streamPackPricing'] } : {}),
    ...(values['stream-pack-forming'] !== undefined ? { streamPackForming: values['stream-pack-forming'] as DemoOptions['streamPackForming'] } : {}),
    ...(values['plan-speed'] !== undefined ? { planSpeed: values['plan-speed'] as DemoOptions['planSpeed'] } : {}),
  };
  return { options, help: values.help === true };
}

/** The `--help` text. */
export const USAGE = `pnpm demo [-- options]
  --duration   seconds per system and trial, and per calibration and capacity probe (default 10; 3 with --quick)
  --trials     trials per system, EPARA and the baseline alternating (default 3; 2 with --quick)
  --nodes      edge nodes, one OS process each per system (default 3)
  --seed       workload, input and model seed (default 42)
  --delay      one-way delay between nodes in ms, min-max (default 5-20)
  --bandwidth  link bandwidth in Mbit/s (default 1000)
  --load       offered load as a fraction of measured capacity (default: calibrated, the point where
               the baseline first falls below 90% SLO attainment)
  --world      edge|stationary
               edge (default): the simulator's edge world scaled to a run — image bursts, moving hot
               spots, chat from the Azure LLM trace, a forecast from another seed's run;
               stationary: Poisson at fixed entry shares, the exact mean as forecast (earlier versions)
  --epara-placement static|online
               static (default): EPARA places once from the forecast; online: that placement seeds the
               mesh's placement coordinator, which re-places every quarter trial from the arrivals
  --host-rules core|replicas
               core (default): EPARA's instances where core's placeServices puts them; replicas: then
               the earlier versions' host rules (replicas where demand enters, overflow hosts)
  --keep-latency-devices
               with --host-rules replicas: after the replica rule, move stream instances off the devices the latency services
               (images, chat) use most, memory and the share cap allowing (off by default: an A/B input)
  --stream-admission local-first|least-wait
               where EPARA's nodes pin a stream: local-first (default), a local instance with room, else
               the nearest peer; least-wait, where its frames wait least behind the other services' work,
               a peer's round trip counted
  --stream-capacity executor|host-ratio
               the capacity stream admission reads: executor (default), the runtime's at the speed it
               learned; host-ratio, that divided again by the node's measured wait ratio (earlier versions)
  --stream-pack-pricing hand-off-once|worst-class
               how EPARA's runtime prices a stream's pack at this host's speed: hand-off-once (default),
               one per-batch hand-off plus the pack at the backend's learned speed; worst-class, the
               largest hold ratio of the pack's size and every smaller one (earlier versions)
  --stream-pack-forming when-free|send-ahead
               when EPARA's runtime forms a stream's pack on a busy device: when-free (default), from
               every frame waiting when it frees; send-ahead, a plan-sized pack sent ahead at once (earlier)
  --plan-speed measured|profile
               with --host-rules core: measured (default), core's placement made again after the warm-up
               on each service's measured backend time ÷ profile; profile, the start-up profiles only
  --report-dir where the report folder goes (default examples/demo/reports)
  --quick      short run (under a minute on an idle machine): CI's check of the path, not a measurement
  --no-capacity skip the capacity search after the trials (capacityRatio: null)
  --plan-costs device-time|profile|measured|consolidate
               with --host-rules replicas: what the replica rule plans with: profile (default): the profiles; device-time moves stream instances off the
               latency services' servers as far as the other devices have room at the device time
               measured in EPARA's warm-up (run time and a hand-off per batch, stream frames at the packs
               they run in); consolidate drops stream replicas while that device time falls (fewer, larger
               packs); measured: the replica rule on the executor's estimates (a trial-length warm-up)`;
