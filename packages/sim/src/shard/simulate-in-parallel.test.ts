import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { buildServers } from '../model/hardware.js';
import type { RunResult } from '../metrics/summary.js';
import type { Scenario } from '../scenario/scenario.js';
import { simulate } from '../simulate.js';
import { productionMix } from '../workload/production-mix.js';
import { shardPlanOf } from './shard-plan.js';
import { simulateInParallel } from './simulate-in-parallel.js';

/** Three zones of ten servers, ring sync with loss and noise: small, zoned, and every random stream in use. */
const zoned: Scenario = {
  name: 'sharded', seed: 5, durationMs: 6000,
  cluster: { groups: [{ preset: 'gpu-server', count: 14 }, { preset: 'jetson', count: 8 }, { preset: 'micro', count: 8 }], zoneSize: 10 },
  workload: { ...productionMix({ scale: 2.5 }), origins: { kind: 'zipf', shiftEveryMs: 3000 } },
  system: { kind: 'epara', syncOptions: { lossProbability: 0.05, noise: 0.05 } },
};

/** A hash of the whole summary but the wall-clock fields (placement timing). */
function hashOf(r: RunResult): string {
  const placement = r.systemInfo['placement'] as Record<string, unknown> | undefined;
  const rest = placement === undefined ? undefined : Object.fromEntries(Object.entries(placement).filter(([k]) => !/ms$/i.test(k)));
  return createHash('sha256').update(JSON.stringify({ ...r, systemInfo: { ...r.systemInfo, placement: rest } })).digest('hex');
}

/** A worker script given as a data URL (the runner must survive whatever a worker does). */
function workerScript(body: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(`import { parentPort } from 'node:worker_threads';\n${body}`)}`);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('shardPlanOf', () => {
  const servers = buildServers(zoned.cluster.groups, 10);

  it('shards EPARA over more than one zone, the zones in order', () => {
    const plan = shardPlanOf(zoned, servers);
    expect(plan.sharded).toBe(true);
    if (plan.sharded) expect(plan.zones.map((z) => z.length)).toEqual([10, 10, 10]);
  });

  it('keeps baselines, one zone, failures and trace rows without an origin on the whole-cluster world', () => {
    for (const kind of ['triton', 'centralized', 'ray-serve'] as const) expect(shardPlanOf({ ...zoned, system: { kind } }, servers)).toMatchObject({ sharded: false });
    expect(shardPlanOf(zoned, buildServers(zoned.cluster.groups, 50))).toEqual({ sharded: false, reason: 'one zone' });
    expect(shardPlanOf({ ...zoned, failures: [{ atMs: 1000, server: 3 }] }, servers)).toMatchObject({ sharded: false });
    expect(shardPlanOf({ ...zoned, workload: { trace: [{ timeMs: 5, service: 'classify' }] } }, servers)).toMatchObject({ sharded: false });
    expect(shardPlanOf({ ...zoned, workload: { trace: [{ timeMs: 5, service: 'classify', origin: 12 }] } }, servers)).toMatchObject({ sharded: true });
  });
});

describe('simulateInParallel', () => {
  it('gives the same full figures as simulate for 1, 2 and 3 workers, and again for the same seed', async () => {
    const reference = simulate(zoned);
    expect(reference.events).toBeGreaterThan(10_000);
    expect(reference.total.offered).toBeGreaterThan(1000);
    const want = hashOf(reference);
    expect(hashOf(simulate(zoned))).toBe(want);
    for (const workers of [1, 2, 3]) {
      const fractions: number[] = [];
      const r = await simulateInParallel(zoned, { workers, onProgress: (f) => fractions.push(f) });
      expect(hashOf(r)).toBe(want);
      expect(fractions.at(-1)).toBe(1);
    }
    // The comparison is not vacuous: another seed gives other figures.
    expect(hashOf(await simulateInParallel({ ...zoned, seed: 6 }, { workers: 2 }))).not.toBe(want);
  }, 300_000);

  it('runs a scenario it cannot shard in this thread, as simulate does', async () => {
    const triton: Scenario = { ...zoned, durationMs: 4000, system: { kind: 'triton' } };
    expect(hashOf(await simulateInParallel(triton, { workers: 2 }))).toBe(hashOf(simulate(triton)));
  }, 120_000);

  it('fails the run with WORKER_CRASHED when a worker throws, exits or crashes, and keeps an EparaError code', async () => {
    const thrown = await rejection(simulateInParallel(zoned, { workers: 2, workerUrl: workerScript(`parentPort.on('message', () => { throw new Error('boom'); });`) }));
    expect(isEparaError(thrown) && thrown.code).toBe('WORKER_CRASHED');
    expect((thrown as Error).message).toContain('boom');
    const exited = await rejection(simulateInParallel(zoned, { workers: 2, workerUrl: workerScript(`parentPort.on('message', () => process.exit(3));`) }));
    expect(isEparaError(exited) && exited.code).toBe('WORKER_CRASHED');
    expect((exited as Error).message).toContain('code 3');
    const coded = await rejection(simulateInParallel(zoned, { workers: 2, workerUrl: workerScript(`parentPort.on('message', (m) => parentPort.postMessage({ zone: m.zone, error: { code: 'INTERNAL', message: 'bad zone', stack: '' } }));`) }));
    expect(isEparaError(coded) && coded.code).toBe('INTERNAL');
    expect((coded as Error).message).toMatch(/zone \d failed in worker \d: bad zone/);
  }, 120_000);

  it('rejects an invalid worker count and an aborted run', async () => {
    for (const workers of [0, 1.5, Number.NaN]) {
      const err = await rejection(simulateInParallel(zoned, { workers }));
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
      expect((err as Error).message).toContain('options.workers');
    }
    const controller = new AbortController();
    // A worker that never answers: only the abort can end the run.
    const pending = simulateInParallel(zoned, { workers: 2, workerUrl: workerScript(`parentPort.on('message', () => {});`), signal: controller.signal });
    controller.abort();
    const err = await rejection(pending);
    expect(isEparaError(err) && err.code).toBe('ABORTED');
  });
});
