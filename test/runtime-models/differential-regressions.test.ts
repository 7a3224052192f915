import { afterAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createDevice, createGraphBuilder, createPipelineEngine, type Executor, type GraphBuilder } from '@epara/runtime';
import { expectServedAsReference, reference, service, serveWithReferences, startExecutor, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Wrong answers the differential fuzzer (differential-fuzz.test.ts) found, each kept as the fixed model it was
 * found on. Every model here mixes rows — an output reverses the batch — in a way the batch check's two items
 * could not see, because both items answered that output alike alone: the check batched the model, and
 * concurrent requests of one row each got each other's answers.
 */

const model = (name: string, build: (g: GraphBuilder) => void): Uint8Array => {
  const g = createGraphBuilder({ name });
  build(g);
  return g.toBytes();
};
/** `y` = `x`'s rows in reverse order (a Slice with step -1 on axis 0). */
const reverseRows = (g: GraphBuilder, x: string, y: string): void =>
  void g.node('Slice', [x, g.constant(`${y}_st`, 'int64', [1], [-1]), g.constant(`${y}_en`, 'int64', [1], [-(2 ** 62)]), g.constant(`${y}_ax`, 'int64', [1], [0]), g.constant(`${y}_sp`, 'int64', [1], [-1])], [y]);

const CASES = {
  /**
   * Seed 246: floats cast to integers, rows reversed. The check's generated floats (in [0, 1), and 3a + 0.5) cast
   * to the same integer 0, so the reversed output was equal for both items alone and in either order.
   */
  castReversed: {
    bytes: model('cast-reversed', (g) => {
      g.input('x', 'float64', ['N', 1]);
      g.node('Mul', ['x', g.constant('two', 'float64', [], [2])], ['doubled']);
      reverseRows(g, g.op('Cast', ['x'], { to: 7 }), 'flipped');
      g.output('doubled', 'float64', ['N', 1]);
      g.output('flipped', 'int64', ['N', 1]);
    }),
    item: (k: number): NamedTensors => ({ x: { type: 'float64', dims: [1, 1], data: Float64Array.from([k + 0.25]) } }),
  },
  /**
   * Seed 828, reduced: a per-row sum, rows reversed. The check's second item is the first's values reversed, and
   * a sum does not see the order: both items summed alike, so the reversal was invisible.
   */
  sumReversed: {
    bytes: model('sum-reversed', (g) => {
      g.input('x', 'int32', ['N', 2]);
      reverseRows(g, g.op('ReduceSum', ['x', g.constant('ax', 'int64', [1], [1])], { keepdims: 1 }), 'flipped');
      g.output('flipped', 'int32', ['N', 1]);
    }),
    item: (k: number): NamedTensors => ({ x: { type: 'int32', dims: [1, 2], data: Int32Array.from([k, 10 * k]) } }),
  },
  /**
   * Seed 828 as found: tf2onnx-style names (the batch only guessed, a free sequence), so the check waits for a
   * request and runs with its values: the reversed request sums alike.
   */
  sumReversedTfStyle: {
    bytes: model('sum-reversed-tf', (g) => {
      g.input('x', 'int32', ['unk__1', 'unk__2', 2]);
      const maxes = g.op('ReduceMax', ['x'], { axes: [-1], keepdims: 1 });
      reverseRows(g, g.op('ReduceSum', [maxes, g.constant('ax', 'int64', [1], [1])], { keepdims: 1 }), 'flipped');
      g.output('flipped', 'int32', ['unk__3', 1, 1]);
    }),
    item: (k: number): NamedTensors => ({ x: { type: 'int32', dims: [1, 3, 2], data: Int32Array.from([k, 1, 2 * k, 3, 5, k]) } }),
  },
};

describe('models that mix rows where the batch check’s two items answer alike, served as raw onnxruntime-node answers them', () => {
  const rig = serveWithReferences(CASES);
  it.each(rig.names)('%s: concurrent requests of one row each get their own answers', async (name) => {
    const c = CASES[name as keyof typeof CASES];
    for (let round = 0; round < 2; round++) {
      await expectServedAsReference(rig.executor, name, rig.ref(name), Array.from({ length: 6 }, (_, k) => c.item(k + 1 + round * 6)));
    }
  });
});

/*
 * Pipeline fuzzer, seed 1: a stage model with no outputs (what splitModel made of a cut at a value nothing reads;
 * splitModel now refuses that cut) loaded, and every request then failed MODEL_ERROR ("'fetches' cannot be an
 * empty array"). The pipeline refuses such a stage at start, as it refuses one left returning nothing else.
 */
describe('a pipeline stage that returns nothing', () => {
  it('is LOAD_FAILED at start, naming the stage', async () => {
    const dead = model('dead-stage', (g) => {
      g.input('x', 'float32', ['N', 2]);
      g.node('Neg', ['x'], ['unread']);
    });
    const live = model('live-stage', (g) => {
      g.input('x', 'float32', ['N', 2]);
      g.node('Abs', ['x'], ['y']);
      g.output('y', 'float32', ['N', 2]);
    });
    const devices = [createDevice({ id: 'dead0', threads: 1 }), createDevice({ id: 'dead1', threads: 1 })];
    const engine = createPipelineEngine({ stages: [{ device: devices[0]!, model: { bytes: dead } }, { device: devices[1]!, model: { bytes: live } }], batchSize: 4 });
    try {
      const err = (await rejection(engine.start())) as { code?: string; message?: string };
      expect({ code: err.code, message: err.message }).toEqual({ code: 'LOAD_FAILED', message: expect.stringMatching(/stage 0 returns nothing/) });
    } finally {
      await engine.close();
      await Promise.all(devices.map((d) => d.close()));
    }
  });
});

/*
 * Serve fuzzer, seed 766: measured at load (as `epara serve` does), a model's batch check ran on the sample the
 * load found — zeros — and every second item made from zeros is constant too: the argmax of a constant row is 0
 * for all of them, so rows reversed after an ArgMax were invisible, the model was batched, and concurrent requests
 * got each other's answers. The check now runs on generated values (alternating 0, 1) when the model's dims are
 * all fixed, and on the found sample only when the model refuses those.
 */
describe('a model measured at load, whose found sample is zeros', () => {
  const argmaxReversed = model('argmax-reversed', (g) => {
    g.input('m', 'bool', [null, 2]);
    reverseRows(g, g.op('ArgMax', [g.op('Cast', ['m'], { to: 1 })], { axis: -1, keepdims: 1 }), 'flipped');
    g.output('flipped', 'int64', [null, 1]);
  });
  let executor: Executor | undefined;
  let ref: Reference | undefined;
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it('answers concurrent requests of one row each as raw onnxruntime-node does', async () => {
    ref = await reference(argmaxReversed);
    executor = await startExecutor([{ ...service('argmax-reversed', argmaxReversed), profile: undefined }], { warmup: 0, repetitions: 1 });
    const items = [[1, 0], [0, 1], [1, 1], [0, 1], [1, 0], [0, 0]].map((v): NamedTensors => ({ m: { type: 'bool', dims: [1, 2], data: Uint8Array.from(v) } }));
    for (let round = 0; round < 2; round++) await expectServedAsReference(executor, 'argmax-reversed', ref, items);
  });
});
