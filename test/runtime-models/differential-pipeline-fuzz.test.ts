import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom, isEparaError, type NamedTensors, type TensorLike } from '@epara/core';
import { createDevice, createPipelineEngine, splitModel, type DeviceHandle, type ModelStage } from '@epara/runtime';
import { firstDifference, randomModel, type FuzzModel } from '../fixtures/differential-models.js';
import { reference, type Reference } from './ground-truth.js';

/*
 * The differential fuzzer of the model-parallel pipeline: each random model (test/fixtures/differential-models.ts)
 * cut in two at a random value its nodes compute. First the stages alone, on raw onnxruntime-node, run in turn must
 * answer what the whole model answers; then a pipeline of the stages on two devices gets concurrent requests of
 * 1-3 rows (stacked together once its batch check allows it: mixed row counts in one run), and every answer must be
 * raw onnxruntime-node's on the whole model for that request alone.
 *
 *   EPARA_FUZZ_MODELS=200 npx vitest run --project shared test/runtime-models/differential-pipeline-fuzz.test.ts
 */

const FIRST = Number(process.env['EPARA_FUZZ_SEED'] ?? 1);
const COUNT = Number(process.env['EPARA_FUZZ_MODELS'] ?? 6);
const SEEDS = Array.from({ length: COUNT }, (_, i) => FIRST + i);

const copy = (t: NamedTensors): NamedTensors => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { type: v.type, dims: [...v.dims], data: v.data.slice() as TensorLike['data'] }]));

/** The model cut at a random computed value; `undefined` when no cut leaves two stages. */
function cut(m: FuzzModel): ModelStage[] | undefined {
  const r = createSeededRandom(m.seed);
  const order = [...m.cuttable].sort(() => r.next() - 0.5);
  for (const at of order) {
    try {
      return splitModel(m.referenceBytes, { cutTensors: [at] });
    } catch (err) {
      if (!isEparaError(err) || err.code !== 'INVALID_OPTIONS') throw err;
    }
  }
  return undefined;
}

/** The full request for the reference twin: the overridable initializer's default fed when absent. */
const full = (m: FuzzModel, request: NamedTensors): NamedTensors => (m.optional && !(m.optional.name in request) ? { ...request, [m.optional.name]: m.optional.value } : request);

describe(`random models ${FIRST}..${FIRST + COUNT - 1} cut into a two-stage pipeline answer as the whole model`, () => {
  const devices: DeviceHandle[] = [];
  beforeAll(() => {
    devices.push(createDevice({ id: 'p0', threads: 1 }), createDevice({ id: 'p1', threads: 1 }));
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
  });

  it('the stages run in turn on raw onnxruntime-node, and the pipeline under concurrent requests of mixed rows', async () => {
    const found: string[] = [];
    /** Runs that stacked several requests (of mixed rows), counted for EPARA_FUZZ_VERBOSE=1 (whether they queue together is timing). */
    let shared = 0;
    for (const seed of SEEDS) {
      const m = randomModel(seed);
      const stages = cut(m);
      if (!stages) continue;
      const mine: string[] = [];
      const whole = await reference(m.referenceBytes);
      const stageRefs: Reference[] = [];
      for (const s of stages) stageRefs.push(await reference(s.bytes));
      // Every output of the whole model, whichever stage computes it.
      const outputNames = m.outputs.map((o) => o.name);
      const engine = createPipelineEngine({ stages: stages.map((s, i) => ({ device: devices[i]!, model: { bytes: s.bytes } })), batchSize: 8, launchWhenIdle: true, outputNames });
      engine.on('batchDispatched', (e) => void (e.items > 1 && shared++));
      try {
        await engine.start();
        const r = createSeededRandom(seed * 31 + 5);
        for (let round = 0; round < 2; round++) {
          const seq = 1 + Math.floor(r.next() * 3);
          const plans = Array.from({ length: 6 }, () => ({ rows: 1 + Math.floor(r.next() * 3), override: r.next() < 0.5 }));
          // The pipeline's requests carry every input its stages read (an overridable initializer is a plain input of a stage).
          const requests = plans.map((p) => full(m, m.request(r, p.rows, seq, p.override)));
          const want: NamedTensors[] = [];
          for (const q of requests) want.push(await whole.run(q, outputNames));
          // The stages in turn, on raw onnxruntime-node.
          for (let i = 0; i < requests.length; i++) {
            const values: Record<string, TensorLike> = { ...requests[i]! };
            for (let k = 0; k < stages.length; k++) {
              if (stages[k]!.outputs.length === 0) continue; // a stage whose values nothing reads
              const feeds = Object.fromEntries(stages[k]!.inputs.map((n) => [n, values[n]!]));
              Object.assign(values, await stageRefs[k]!.run(feeds, stages[k]!.outputs));
            }
            const chained = Object.fromEntries(outputNames.map((n) => [n, values[n]!]));
            const diff = firstDifference(chained, want[i]!);
            if (diff !== undefined) mine.push(`seed ${seed} round ${round} request ${i}: the stages in turn: ${diff}`);
          }
          // An input no node reads (the random graphs leave some) is no input of any stage: the pipeline refuses it.
          const reads = engine.dataflow()!.requestInputs;
          const read = (q: NamedTensors): NamedTensors => Object.fromEntries(Object.entries(q).filter(([n]) => reads.has(n)));
          const settled = await Promise.allSettled(requests.map((q) => engine.submit(copy(read(q)), { deadline: Date.now() + 60_000, priority: 0 })));
          settled.forEach((s, i) => {
            const where = `seed ${seed} round ${round} request ${i} (rows ${plans[i]!.rows}, seq ${seq})`;
            if (s.status === 'rejected') mine.push(`${where}: failed ${(s.reason as { code?: string }).code} ${(s.reason as Error).message}`);
            else {
              const diff = firstDifference(s.value, want[i]!);
              if (diff !== undefined) mine.push(`${where}: ${diff}`);
            }
          });
        }
      } finally {
        await engine.close();
        await whole.release();
        for (const s of stageRefs) await s.release();
      }
      if (mine.length > 0) found.push(`model ${seed} cut at ${stages[0]!.outputs.join(', ')}: ${m.description}`, ...mine);
    }
    expect(found).toEqual([]);
    if (process.env['EPARA_FUZZ_VERBOSE'] === '1') console.log(`${shared} runs stacked several requests`);
  }, 300_000);
});
