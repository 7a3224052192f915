import type { ExperimentReport } from '../report/types.js';
import type { Scenario } from '../scenario/scenario.js';
import { edgeMix } from '../workload/edge-mix.js';
import { compare, edgeScenario, mainSystems, r3, RunCounter, runContender, runsOf, UPPER_BOUND, type ExperimentContext } from './common.js';

/** One world parameter changed from the edge world's default, the rest kept. */
export interface SensitivitySetting {
  readonly parameter: string;
  readonly value: string;
  /** Delay between two sites of a zone, ms (`network.metroMs`). */
  readonly metroMs?: readonly [number, number];
  /** Zipf exponent of the entry skew (`edgeMix`'s `zipfExponent`). */
  readonly zipfExponent?: number;
  /** Co-location interference β (`scenario.interference`). */
  readonly interference?: number;
  /** Burst height (`edgeMix`'s `burstFactor`). */
  readonly burstFactor?: number;
}

/** The defaults, then each main parameter of the world at a lower and a higher value, one at a time. */
export const SENSITIVITY_SETTINGS: readonly SensitivitySetting[] = [
  { parameter: 'defaults', value: 'sites 5–20 ms apart, Zipf 0.9, β 0.25, bursts 4×' },
  { parameter: 'delay between sites', value: 'same-site (0.3–0.7 ms)', metroMs: [0.3, 0.7] },
  { parameter: 'delay between sites', value: 'cross-zone (20–50 ms)', metroMs: [20, 50] },
  { parameter: 'entry skew', value: 'none (uniform)', zipfExponent: 0 },
  { parameter: 'entry skew', value: 'Zipf 1.5', zipfExponent: 1.5 },
  { parameter: 'interference β', value: '0', interference: 0 },
  { parameter: 'interference β', value: '0.5', interference: 0.5 },
  { parameter: 'burstiness', value: 'none (1×)', burstFactor: 1 },
  { parameter: 'burstiness', value: '8×', burstFactor: 8 },
];

/** Seeds per setting. */
export const SENSITIVITY_SEEDS = 5;
/** The load point: `edgeMix` mixed at this scale (where the bench's mixed ratio peaks). */
export const SENSITIVITY_SCALE = 12;

/** The mixed comparison's scenario under one setting and seed. */
export function sensitivityScenario(s: SensitivitySetting, seed: number, durationMs: number): Omit<Scenario, 'system'> {
  const base = edgeScenario(`sensitivity-${s.parameter}-${s.value}-seed${seed}`, { seed, quick: true }, SENSITIVITY_SCALE, durationMs);
  return {
    ...base,
    workload: edgeMix({ scale: SENSITIVITY_SCALE, kind: 'mixed', durationMs, ...(s.zipfExponent === undefined ? {} : { zipfExponent: s.zipfExponent }), ...(s.burstFactor === undefined ? {} : { burstFactor: s.burstFactor }) }),
    ...(s.metroMs === undefined ? {} : { network: { metroMs: s.metroMs } }),
    ...(s.interference === undefined ? {} : { interference: s.interference }),
  };
}

/**
 * How robust the mixed verdict is: EPARA ÷ the best deployable baseline at mixed ×12 over seeds `seed … seed + 4`,
 * under the defaults and with each main world parameter changed one at a time (median, min, max per setting).
 */
export function runSensitivity(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const durationMs = ctx.quick ? 20_000 : 90_000;
  const systems = mainSystems(ctx).filter((c) => c.label !== UPPER_BOUND);
  const seeds = Array.from({ length: SENSITIVITY_SEEDS }, (_, i) => ctx.seed + i);
  const counter = new RunCounter(ctx, SENSITIVITY_SETTINGS.length * seeds.length * systems.reduce((n, c) => n + runsOf(c), 0));
  const rows: (string | number)[][] = [];
  const figures: Record<string, number | string | null> = {};
  let lowest = Infinity;
  for (const s of SENSITIVITY_SETTINGS) {
    const ratios: number[] = [];
    const best = new Map<string, number>();
    for (const seed of seeds) {
      const base = sensitivityScenario(s, seed, durationMs);
      const c = compare(systems.map((x) => runContender(base, x, counter)));
      if (c.vsBestDeployable !== null) ratios.push(c.vsBestDeployable);
      if (c.bestDeployable !== null) best.set(c.bestDeployable, (best.get(c.bestDeployable) ?? 0) + 1);
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    const median = sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)]!;
    const min = sorted[0] ?? null;
    const max = sorted[sorted.length - 1] ?? null;
    if (min !== null) lowest = Math.min(lowest, min);
    rows.push([s.parameter, s.value, fmt(median), fmt(min), fmt(max), ratios.map((x) => r3(x)).join(', '), [...best].map(([label, n]) => `${label} ×${n}`).join(', ')]);
    figures[`${s.parameter}: ${s.value}`] = median === null ? null : r3(median);
  }
  figures['min'] = Number.isFinite(lowest) ? r3(lowest) : null;
  return {
    id: 'sensitivity',
    title: 'Robustness of the mixed verdict (seeds and world parameters)',
    question: 'Does EPARA\'s lead over the best deployable baseline hold across seeds and when each main parameter of the world changes?',
    seed: ctx.seed,
    quick: ctx.quick,
    setup: [
      `Testbed cluster, edgeMix({ kind: 'mixed', scale: ${SENSITIVITY_SCALE} }), ${durationMs / 1000} s per run, seeds ${seeds.join(', ')}; EPARA and the three deployable baselines (Triton: best of its max_queue_delay sweep per run).`,
      'One parameter changed at a time from the defaults: the delay between sites of the zone (`network.metroMs`: the same-site range, the metro default, the cross-zone range), the entry skew (Zipf exponent of the access servers), co-location interference β, and the height of the image and classifier bursts.',
    ],
    tables: [{ title: 'EPARA ÷ best deployable per setting', columns: ['parameter', 'value', 'median', 'min', 'max', 'per seed', 'best deployable (runs)'], rows }],
    charts: [],
    notes: [`Lowest EPARA ÷ best deployable over every setting and seed: ${fmt(Number.isFinite(lowest) ? lowest : null)}.`],
    figures,
    wallMs: performance.now() - started,
  };
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : String(r3(x));
}
