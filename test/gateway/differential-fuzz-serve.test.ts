import { createSeededRandom, type NamedTensors, type TensorLike } from '@epara/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomModel, type FuzzModel } from '../fixtures/differential-models.js';
import { reference, type Reference } from '../runtime-models/ground-truth.js';
import { inferOver, servedDifferences, serveModelFiles } from './tensor-transports.js';

/*
 * The differential fuzzer of `epara serve`: random small models (test/fixtures/differential-models.ts) served
 * from their files alone, called as outside clients call it — HTTP with JSON tensors, HTTP with binary tensors,
 * gRPC with raw_input_contents — with concurrent requests of 1-4 rows, random sequence lengths and values (some
 * overriding an initializer; in a second round some with deadlines that press the batcher). The gateway splits a
 * request into items, or sends it whole, as it reads the model; either way each answer must be raw
 * onnxruntime-node's on that request alone (integers and bools exactly, floats within 64 ulps of the output's
 * scale). Every refusal of a request onnxruntime answers is a failure, but a pressed request's typed shedding.
 *
 * More models, or one seed again:
 *   EPARA_FUZZ_MODELS=60 EPARA_FUZZ_SEED=1 npx vitest run --project shared test/gateway/differential-fuzz-serve.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 6);
const SEEDS = Array.from({ length: COUNT }, (_, i) => FIRST + i);

const models = SEEDS.map(randomModel);
const refs = new Map<number, Reference>();
const served = serveModelFiles(() => Object.fromEntries(models.map((m) => [`m${m.seed}`, m.bytes])));
beforeAll(async () => {
  for (const m of models) refs.set(m.seed, await reference(m.referenceBytes));
});
afterAll(async () => {
  for (const r of refs.values()) await r.release();
});

/** The reference's answer: the overridable initializer's default fed when the request leaves it out. */
async function expected(m: FuzzModel, request: NamedTensors): Promise<NamedTensors | Error> {
  const feeds: Record<string, TensorLike> = { ...request };
  if (m.optional && !(m.optional.name in feeds)) feeds[m.optional.name] = m.optional.value;
  try {
    return await refs.get(m.seed)!.run(feeds);
  } catch (err) {
    return err as Error;
  }
}

async function round(m: FuzzModel, roundSeed: number, pressed: boolean): Promise<string[]> {
  const r = createSeededRandom(roundSeed);
  const n = 3 + Math.floor(r.next() * 6);
  const seqs = [1 + Math.floor(r.next() * 3), 1 + Math.floor(r.next() * 3)];
  const plans = Array.from({ length: n }, () => ({
    rows: 1 + Math.floor(r.next() * 4),
    seq: seqs[r.next() < 0.7 ? 0 : 1]!,
    override: r.next() < 0.5,
    how: (['json', 'binary', 'grpc'] as const)[Math.floor(r.next() * 3)]!,
    // In the second round some requests press the batcher with deadlines it may not meet (then refused, typed).
    deadlineMs: pressed && r.next() < 0.5 ? 1 + Math.floor(r.next() * 20) : undefined,
  }));
  const requests = plans.map((p) => m.request(r, p.rows, p.seq, p.override));
  const answers: (NamedTensors | Error)[] = [];
  for (const q of requests) answers.push(await expected(m, q));
  const outcomes = await Promise.all(requests.map((q, i) => inferOver(served, `m${m.seed}`, m.outputs, q, plans[i]!.how, plans[i]!.deadlineMs)));
  return servedDifferences(
    outcomes,
    answers,
    (i) => {
      const p = plans[i]!;
      return `seed ${m.seed} round ${roundSeed} request ${i} (${p.how}, rows ${p.rows}, seq ${p.seq}${p.override ? ', override' : ''}${p.deadlineMs ? `, deadline ${p.deadlineMs} ms` : ''})`;
    },
    // A pressed request's typed shedding.
    (i, error) => plans[i]!.deadlineMs !== undefined && /DEADLINE_EXCEEDED|DEADLINE_INFEASIBLE|OVERLOADED|^gRPC (4|8|14) /.test(error),
  );
}

describe(`random models ${FIRST}..${FIRST + COUNT - 1} served by epara serve: every answer is raw onnxruntime-node's`, () => {
  it('concurrent requests of 1-4 rows over HTTP JSON, HTTP binary and gRPC', async () => {
    const found: string[] = [];
    for (const m of models) {
      const mine: string[] = [];
      for (let k = 0; k < 2; k++) mine.push(...(await round(m, m.seed * 100 + k, k === 1)));
      if (mine.length > 0) found.push(`model ${m.seed}: ${m.description}`, ...mine);
    }
    expect(found).toEqual([]);
  }, 240_000);
});
