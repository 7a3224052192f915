import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, isEparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { createExecutor, type Executor } from '@epara/runtime';
import { firstDifference, randomModel, type FuzzModel } from '../fixtures/differential-models.js';
import { reference, service, type Reference } from './ground-truth.js';

/*
 * A seeded differential fuzzer of the executor: random small models (test/fixtures/differential-models.ts), each
 * served as a service (odd seeds data-parallel: a replica on each of two devices; every third with sampleInputs)
 * and sent concurrent requests of random values, row counts and sequence lengths (some
 * overriding an initializer, some with deadlines that press the batcher); every answer must be raw
 * onnxruntime-node's on that request alone (integers and bools exactly, floats within 64 ulps of the output's
 * scale). A request of several rows may be refused INVALID_INPUT by a model the executor stacks (it takes one item
 * per request), a pressed one DEADLINE_EXCEEDED, OVERLOADED or DEADLINE_INFEASIBLE; nothing else.
 *
 * More iterations, or one seed again: EPARA_FUZZ_MODELS=200 (models from EPARA_FUZZ_SEED, default 1) with
 *   EPARA_FUZZ_MODELS=200 npx vitest run --project shared test/runtime-models/differential-fuzz.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 6);
/** Models served by one executor at a time (each a service). */
const PER_EXECUTOR = 6;
const SEEDS = Array.from({ length: COUNT }, (_, i) => FIRST + i);

/** The reference's answer to a request: the overridable initializer's default fed when the request leaves it out. */
async function expected(ref: Reference, m: FuzzModel, request: NamedTensors): Promise<NamedTensors | Error> {
  const feeds: Record<string, TensorLike> = { ...request };
  if (m.optional && !(m.optional.name in feeds)) feeds[m.optional.name] = m.optional.value;
  try {
    return await ref.run(feeds);
  } catch (err) {
    return err as Error;
  }
}

const copy = (t: NamedTensors): NamedTensors => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { type: v.type, dims: [...v.dims], data: v.data.slice() as TensorLike['data'] }]));

const PRESSED = new Set(['DEADLINE_EXCEEDED', 'OVERLOADED', 'DEADLINE_INFEASIBLE']);

/** One round for one model: `n` concurrent requests; returns the mismatches found. */
async function round(executor: Executor, ref: Reference, m: FuzzModel, roundSeed: number, pressed: boolean): Promise<string[]> {
  const r = createSeededRandom(roundSeed);
  const n = 4 + Math.floor(r.next() * 8);
  // Most requests share a sequence length (so that they may stack); some take another.
  const seqs = [1 + Math.floor(r.next() * 3), 1 + Math.floor(r.next() * 3)];
  const plans = Array.from({ length: n }, () => ({
    rows: r.next() < 0.75 ? 1 : 2 + Math.floor(r.next() * 3),
    seq: seqs[r.next() < 0.7 ? 0 : 1]!,
    override: r.next() < 0.5,
    deadlineMs: pressed && r.next() < 0.6 ? 1 + Math.floor(r.next() * 30) : undefined,
    priority: Math.floor(r.next() * 3),
  }));
  const requests = plans.map((p) => m.request(r, p.rows, p.seq, p.override));
  const answers: (NamedTensors | Error)[] = [];
  for (const q of requests) answers.push(await expected(ref, m, q));
  const start = performance.now();
  const settled = await Promise.allSettled(
    requests.map((q, i) => executor.submit(`m${m.seed}`, copy(q), { priority: plans[i]!.priority, ...(plans[i]!.deadlineMs === undefined ? {} : { deadline: start + plans[i]!.deadlineMs! }) })),
  );
  const found: string[] = [];
  if (process.env['EPARA_FUZZ_VERBOSE'] === '1') console.log(`seed ${m.seed} round ${roundSeed}: ${settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code?: string }).code)).join(' ')}`);
  settled.forEach((s, i) => {
    const p = plans[i]!;
    const want = answers[i]!;
    const where = `seed ${m.seed} round ${roundSeed} request ${i} (rows ${p.rows}, seq ${p.seq}${p.override ? ', override' : ''}${p.deadlineMs ? `, deadline ${p.deadlineMs} ms` : ''})`;
    if (s.status === 'rejected') {
      const code = isEparaError(s.reason) ? s.reason.code : undefined;
      if (want instanceof Error) return; // the model refuses it alone too
      // An instance that stacks takes one item per request; one that runs unbatched (or has not checked yet) runs a
      // request of several rows whole.
      if (code === 'INVALID_INPUT' && p.rows > 1 && executor.itemSeparability(`m${m.seed}`) === 'separable') return;
      if (code !== undefined && PRESSED.has(code) && p.deadlineMs !== undefined) return;
      found.push(`${where}: failed ${code} ${(s.reason as Error).message}; onnxruntime answers it`);
      return;
    }
    if (want instanceof Error) {
      found.push(`${where}: answered, but onnxruntime refuses it alone: ${want.message}`);
      return;
    }
    const diff = firstDifference(s.value, want);
    if (diff !== undefined) found.push(`${where}: ${diff}`);
  });
  return found;
}

for (let from = 0; from < SEEDS.length; from += PER_EXECUTOR) {
  const seeds = SEEDS.slice(from, from + PER_EXECUTOR);
  describe(`random models ${seeds[0]}..${seeds[seeds.length - 1]}: the executor answers as raw onnxruntime-node`, () => {
    const models = seeds.map(randomModel);
    const refs = new Map<number, Reference>();
    let executor: Executor;
    beforeAll(async () => {
      for (const m of models) refs.set(m.seed, await reference(m.referenceBytes));
      // Odd seeds data-parallel (a replica on each of two devices, sharing one queue), even seeds on one device.
      executor = createExecutor({
        devices: [
          { id: 'cpu0', threads: 1 },
          { id: 'cpu1', threads: 1 },
        ],
        services: models.map((m) =>
          service(`m${m.seed}`, m.bytes, {
            slo: { kind: 'latency', deadlineMs: 20_000 },
            devices: m.seed % 2 === 1 ? ['cpu0', 'cpu1'] : ['cpu0'],
            // Every third model gives sampleInputs of one row: its batch check runs at load on them, not on a first request.
            ...(m.seed % 3 === 0 ? { sampleInputs: m.request(createSeededRandom(m.seed), 1, 2, false) } : {}),
          }),
        ),
        launchWhenIdle: true,
      });
      await executor.start();
    }, 120_000);
    afterAll(async () => {
      await executor?.close();
      for (const r of refs.values()) await r.release();
    });

    it('every answer equals onnxruntime-node on the request alone (concurrent, then deadline-pressed)', async () => {
      const found: string[] = [];
      // Batches of several requests, counted for EPARA_FUZZ_VERBOSE=1 (whether requests queue together is timing).
      let stacked = 0;
      executor.on('batchDispatched', (e) => void (e.size > 1 && stacked++));
      for (const m of models) {
        const mine: string[] = [];
        for (let k = 0; k < 3; k++) mine.push(...(await round(executor, refs.get(m.seed)!, m, m.seed * 100 + k, k === 2)));
        if (mine.length > 0) found.push(`model ${m.seed}: ${m.description}`, ...mine);
        if (process.env['EPARA_FUZZ_VERBOSE'] === '1') console.log(`model ${m.seed}: ${executor.itemSeparability(`m${m.seed}`) ?? 'unchecked'}`);
      }
      expect(found).toEqual([]);
      if (process.env['EPARA_FUZZ_VERBOSE'] === '1') console.log(`${stacked} batches stacked several requests`);
    }, 120_000);
  });
}
