import type { Category, PlacedInstance, ServiceSpec } from '@epara/core';
import type { ExecutorServiceOptions } from '@epara/runtime';
import { startTriton } from './baseline/triton-system.js';
import type { TritonConfig } from './baseline/triton-config.js';
import { DEMO_SERVICES } from './catalog.js';
import { drive } from './driver.js';
import { startEpara } from './epara-system.js';
import type { InputFactory } from './inputs.js';
import type { ResolvedDemoOptions } from './options.js';
import type { DemoProfiles } from './profiles.js';
import { startProgress } from './progress.js';
import { summarize, type SystemReport } from './report.js';
import type { ServingSystem } from './system.js';
import { Tally } from './tally.js';
import type { Workload } from './workload.js';

/** What every phase shares. */
export interface PhaseContext {
  readonly o: ResolvedDemoOptions;
  readonly workload: Workload;
  readonly inputs: InputFactory;
  readonly categories: Readonly<Record<string, Category>>;
}

/** Node counters of the EPARA run, for the report. */
export interface MeshFigures {
  readonly submitted: number;
  readonly ranLocally: number;
  readonly offloaded: number;
  readonly received: number;
  readonly rejected: number;
  readonly syncRounds: number;
  readonly syncBytesSent: number;
}

async function runOn(ctx: PhaseContext, system: ServingSystem): Promise<SystemReport> {
  const tally = new Tally(DEMO_SERVICES);
  const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const stop = startProgress({
    label: system.name,
    durationMs: ctx.workload.durationMs,
    tally,
    offloads: () => sum(system.offloads()) + tally.totals().offloads,
    tty: ctx.o.tty,
    log: ctx.o.log,
    plainEveryMs: ctx.o.quick ? 1000 : 5000,
  });
  try {
    await drive({ system, workload: ctx.workload, catalog: DEMO_SERVICES, inputs: ctx.inputs, tally, ...(ctx.o.signal ? { signal: ctx.o.signal } : {}) });
  } finally {
    stop();
  }
  return summarize({ system: system.name, catalog: DEMO_SERVICES, categories: ctx.categories, tally, offloads: system.offloads(), seconds: ctx.workload.durationMs / 1000 });
}

/** Runs the workload on the EPARA mesh (started here and closed before returning). */
export async function runEpara(
  ctx: PhaseContext,
  setup: { specs: readonly ServiceSpec[]; services: readonly ExecutorServiceOptions[]; placement: readonly PlacedInstance[] },
): Promise<{ report: SystemReport; mesh: MeshFigures }> {
  const cluster = await startEpara({ nodes: ctx.o.nodes, ...setup, syncPeriodMs: 250 });
  try {
    const report = await runOn(ctx, cluster);
    const stats = cluster.nodes.map((n) => n.stats());
    const total = (k: keyof MeshFigures): number => stats.reduce((a, s) => a + s[k], 0);
    const mesh: MeshFigures = {
      submitted: total('submitted'),
      ranLocally: total('ranLocally'),
      offloaded: total('offloaded'),
      received: total('received'),
      rejected: total('rejected'),
      syncRounds: total('syncRounds'),
      syncBytesSent: total('syncBytesSent'),
    };
    return { report, mesh };
  } finally {
    await cluster.close();
  }
}

/** Runs the same workload on the Triton-like baseline (started here and closed before returning). */
export async function runTriton(ctx: PhaseContext, setup: { config: TritonConfig; profiles: DemoProfiles; lm: Uint8Array }): Promise<SystemReport> {
  const system = await startTriton({ catalog: DEMO_SERVICES, nodes: ctx.o.nodes, ...setup });
  try {
    return await runOn(ctx, system);
  } finally {
    await system.close();
  }
}
