import type { ExperimentReport } from '../report/types.js';
import type { ExperimentContext } from './common.js';
import { runLoadSweep } from './load-sweep.js';
import { runE2 } from './e2-devices.js';
import { runE3 } from './e3-utilization.js';
import { runE4 } from './e4-sync-error.js';
import { runE5 } from './e5-failures.js';
import { runE6 } from './e6-scale.js';
import { runE7 } from './e7-ablations.js';
import { runE8 } from './e8-case-studies.js';
import { runSensitivity } from './sensitivity.js';

/** Experiment ids. */
export type ExperimentId = 'e1' | 'e2' | 'e3' | 'e4' | 'e5' | 'e6' | 'e7' | 'e8' | 'sensitivity';

/** Every experiment, by id: one command each (`epara-sim run e1`). */
export const EXPERIMENTS: Readonly<Record<ExperimentId, { readonly title: string; readonly run: (ctx: ExperimentContext) => ExperimentReport }>> = {
  e1: { title: 'goodput vs offered load (mixed)', run: (ctx) => runLoadSweep(ctx, 'mixed', 'e1') },
  e2: { title: 'devices needed for ≥ 99 % SLO attainment', run: runE2 },
  e3: { title: 'compute and memory utilization', run: runE3 },
  e4: { title: 'goodput vs sync error', run: runE4 },
  e5: { title: 'recovery after failures', run: runE5 },
  e6: { title: 'scale 10 → 1000 servers', run: runE6 },
  e7: { title: 'ablations', run: runE7 },
  e8: { title: 'case studies', run: runE8 },
  sensitivity: { title: 'robustness of the mixed verdict over seeds and world parameters', run: runSensitivity },
};

/** Runs one experiment by id. */
export function runExperiment(id: ExperimentId, ctx: ExperimentContext): ExperimentReport {
  return EXPERIMENTS[id].run(ctx);
}
