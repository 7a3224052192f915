import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EparaError } from '@epara/core';
import { buildServers } from '../model/hardware.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario } from '../scenario/scenario.js';
import { validateScenario } from '../scenario/resolve-scenario.js';
import { simulate } from '../simulate.js';
import { mergeZones } from './merge-zones.js';
import { shardPlanOf } from './shard-plan.js';
import { defaultZoneWorkerUrl } from './worker-url.js';
import type { FromWorker, ToWorker } from './worker-messages.js';
import { prepareShards, type ZonePartial } from './zone-run.js';

/** Options of {@link simulateInParallel}. */
export interface ParallelOptions {
  /**
   * Worker threads to spread the zones over; 1 simulates them one after the other in this thread (as
   * `simulate` does). Never more than the run has zones. @default min(zones, os.availableParallelism())
   */
  readonly workers?: number;
  /** Called as zones finish with the fraction of zones done (0..1). */
  readonly onProgress?: (fraction: number) => void;
  /**
   * URL of the zone worker script. A host that bundles `@epara/sim` copies its `dist/zone-worker.js` next to the
   * bundle and passes that file's URL. @default the package's own `dist/zone-worker.js`
   */
  readonly workerUrl?: URL;
  /** Aborting ends the workers and rejects with `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Resolved worker count of a run with `zones` zones. */
export function resolveWorkers(workers: number | undefined, zones: number): number {
  if (workers === undefined) return Math.max(1, Math.min(zones, availableParallelism()));
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new EparaError('INVALID_OPTIONS', `options.workers must be an integer >= 1, got ${typeof workers === 'number' ? workers : JSON.stringify(workers)} (${typeof workers})`, { field: 'workers', value: workers });
  }
  return Math.min(workers, zones);
}

/**
 * Runs a scenario like {@link simulate} and returns the same result, bit for bit, spreading the zones of a run
 * whose zones are independent (`shardPlanOf`: EPARA, more than one zone, no injected failure) over worker threads.
 * Any other run is simulated in this thread as `simulate` does. Zones are handed out one at a time as workers
 * finish, and merged in zone order, so the result does not depend on the worker count or on timing. The workers
 * end when the run ends, whether it succeeded or not.
 *
 * @throws EparaError `INVALID_OPTIONS` for an invalid scenario or worker count; `WORKER_CRASHED` when a worker
 *   threw or exited (a thrown `EparaError` keeps its code); `ABORTED` when `signal` aborted.
 * @example
 * ```ts
 * import { productionMix, simulateInParallel } from '@epara/sim';
 * const result = await simulateInParallel({
 *   durationMs: 60_000,
 *   cluster: { groups: [{ preset: 'gpu-server', count: 100 }, { preset: 'jetson', count: 100 }], zoneSize: 50 },
 *   workload: productionMix({ scale: 10 }),
 *   system: { kind: 'epara' },
 * }, { workers: 2 });
 * ```
 */
export async function simulateInParallel(input: Scenario, options: ParallelOptions = {}): Promise<RunResult> {
  const scenario = validateScenario(input);
  const servers = buildServers(scenario.cluster.groups, scenario.cluster.zoneSize ?? 50);
  const plan = shardPlanOf(scenario, servers);
  const workers = resolveWorkers(options.workers, plan.sharded ? plan.zones.length : 1);
  if (options.signal?.aborted === true) throw new EparaError('ABORTED', 'simulateInParallel aborted before it started');
  if (!plan.sharded || workers <= 1) return simulate(scenario, options.onProgress === undefined ? {} : { onProgress: options.onProgress });
  const url = options.workerUrl ?? defaultZoneWorkerUrl();
  const zones = plan.zones.length;
  const pool = Array.from({ length: workers }, () => {
    // Workers take this process's flags, but `--input-type` (a script given with --eval) fails a worker started from a file.
    const w = new Worker(url, { workerData: { scenario }, execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
    // Once the run has failed, a second worker's error is of no use, but unheard it would be an uncaught one.
    w.on('error', () => {});
    return w;
  });
  try {
    const ctx = prepareShards(scenario, servers, plan.zones);
    const parts = await runPool(pool, zones, options);
    options.onProgress?.(1);
    return mergeZones(ctx, parts);
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

/** Hands zones to the workers one at a time until every zone has come back; rejects at the first failure. */
function runPool(pool: readonly Worker[], zones: number, options: ParallelOptions): Promise<ZonePartial[]> {
  return new Promise<ZonePartial[]>((resolve, reject) => {
    const parts: ZonePartial[] = [];
    let next = 0;
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (err: EparaError | null): void => {
      if (settled) return;
      settled = true;
      for (const c of cleanups) c();
      if (err === null) resolve(parts);
      else reject(err);
    };
    const give = (w: Worker): void => {
      if (next < zones) w.postMessage({ zone: next++ } satisfies ToWorker);
    };
    const onAbort = (): void => finish(new EparaError('ABORTED', 'simulateInParallel aborted', { zonesDone: parts.length }));
    if (options.signal !== undefined) {
      const signal = options.signal;
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    pool.forEach((w, i) => {
      const onMessage = (msg: FromWorker): void => {
        if ('error' in msg) {
          const e = msg.error;
          return finish(new EparaError(e.code ?? 'WORKER_CRASHED', `zone ${msg.zone} failed in worker ${i}: ${e.message}`, { zone: msg.zone, worker: i, stack: e.stack }));
        }
        parts.push(msg.partial);
        options.onProgress?.(parts.length / zones);
        if (parts.length === zones) return finish(null);
        give(w);
      };
      const onError = (err: Error): void => finish(new EparaError('WORKER_CRASHED', `zone worker ${i} crashed: ${err.message}`, { worker: i }, { cause: err }));
      const onExit = (code: number): void => finish(new EparaError('WORKER_CRASHED', `zone worker ${i} exited with code ${code} before the run ended`, { worker: i, exitCode: code }));
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      cleanups.push(() => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      });
      give(w);
    });
  });
}
