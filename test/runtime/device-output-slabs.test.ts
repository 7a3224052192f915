import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { fakeModelBytes, type KnownOutput, type TimedRun, type WorkerRestartedEvent } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { codeOf, values, devicesClosedAfterEach } from './helpers.js';

/*
 * Outputs written into the batch's slab: the backend fills pre-allocated views behind the inputs, the device
 * copies each request's slice out before the slab goes back to the pool. Checked against unbatched runs on
 * the real classifier, for results that later batches must not overwrite, and for the failure paths.
 */

const CLS_ITEM = 3 * 48 * 192;
const clsItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(CLS_ITEM, seed) } });
const CLS_OUT = 'softmax_0.tmp_0';
const clsKnown: KnownOutput[] = [{ name: CLS_OUT, type: 'float32', dims: [1, 2], axis: 0 }];
const AXES = { x: 0 };
const pair = (a: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, 1]) } });
const pairKnown: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];

function items(run: TimedRun): readonly NamedTensors[] {
  if (!run.items) throw new Error('expected the outputs in the slab');
  return run.items;
}

describe('device output slabs', () => {
  const open = devicesClosedAfterEach();

  it('gives each request of a batch the outputs of its unbatched run on the real classifier', async () => {
    const d = open({ id: 'cls', threads: 1 });
    await d.loadModel('cls', { path: models.ocrCls });
    const batch = Array.from({ length: 5 }, (_, i) => clsItem(100 + i));
    const out = items(await d.runBatch!('cls', batch, AXES, { knownOutputs: clsKnown }));
    expect(out).toHaveLength(5);
    for (const [i, it] of batch.entries()) {
      const alone = await d.run('cls', { x: { ...it['x']!, data: it['x']!.data.slice() } });
      expect(out[i]![CLS_OUT]!.dims).toEqual([1, 2]);
      const got = values(out[i]!, CLS_OUT);
      const want = Array.from(alone[CLS_OUT]!.data as Float32Array);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
    }
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, outputRuns: 1, lent: 0 });
  });

  it('reuses one slab for many batches without overwriting results already handed out', async () => {
    const d = open({ id: 'reuse', backend: { kind: 'fake' }, doorbellSlotBytes: 0 }); // the slab path itself (no doorbell)
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2 }] }) });
    const first = items(await d.runBatch!('m', [pair(1), pair(2), pair(3)], AXES, { knownOutputs: pairKnown }));
    for (let round = 0; round < 20; round++) {
      const later = items(await d.runBatch!('m', [pair(100 + round), pair(200 + round), pair(300 + round)], AXES, { knownOutputs: pairKnown }));
      expect(values(later[2]!, 'y')).toEqual([2 * (300 + round), 2]);
    }
    // Views of the batch's own copy (3 × 2 floats), not of the 8 MiB slab the later batches wrote into.
    expect(first.map((o) => values(o, 'y'))).toEqual([[2, 2], [4, 2], [6, 2]]);
    expect((first[0]!['y']!.data as Float32Array).buffer.byteLength).toBe(3 * 2 * 4);
    expect(d.inputSlabs!()).toMatchObject({ allocated: 1, slabRuns: 21, outputRuns: 21, lent: 0, free: 1 });
  });

  it('copies a non-leading batch axis per request and shares a batch-wide output', async () => {
    const d = open({ id: 'axes', backend: { kind: 'fake' } });
    await d.loadModel('m', {
      bytes: fakeModelBytes({
        inputs: [{ name: 's', type: 'float32', dims: [2, 'batch', 3] }, { name: 'k', type: 'int32', dims: [2] }],
        outputs: [{ name: 'y', from: 's' }, { name: 'kk', from: 'k' }],
        batchInput: 's',
        batchAxis: 1,
      }),
    });
    const item = (base: number): NamedTensors => ({
      s: { type: 'float32', dims: [2, 1, 3], data: Float32Array.from({ length: 6 }, (_, i) => base + i) },
      k: { type: 'int32', dims: [2], data: new Int32Array([7, 8]) },
    });
    const known: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [2, 1, 3], axis: 1 }, { name: 'kk', type: 'int32', dims: [2], axis: null }];
    const out = items(await d.runBatch!('m', [item(0), item(10)], { s: 1, k: null }, { knownOutputs: known }));
    expect(values(out[0]!, 'y')).toEqual([0, 1, 2, 3, 4, 5]);
    expect(values(out[1]!, 'y')).toEqual([10, 11, 12, 13, 14, 15]);
    expect(out[1]!['y']!.dims).toEqual([2, 1, 3]);
    expect(Array.from(out[0]!['kk']!.data as Int32Array)).toEqual([7, 8]);
    expect(out[1]!['kk']).toBe(out[0]!['kk']);
  });

  it('falls back to transferred outputs when the model does not produce the declared shape, and keeps model errors typed', async () => {
    const d = open({ id: 'lying', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 3 }], failIfAnyEquals: 7 }) });
    // Declared three wide, produced two wide: the pre-allocated run fails, the plain run answers.
    const wrong: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 3], axis: 0 }];
    const out = await d.runBatch!('m', [pair(1), pair(2)], AXES, { knownOutputs: wrong });
    expect(out.items).toBeUndefined();
    expect(Array.from(out.outputs['y']!.data as Float32Array)).toEqual([3, 3, 6, 3]);
    expect(await codeOf(d.runBatch!('m', [pair(7)], AXES, { knownOutputs: pairKnown }))).toBe('MODEL_ERROR');
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 0, outputRuns: 0 });
  });

  it('writes off the slabs of a crashed worker, fails its runs WORKER_CRASHED, and writes outputs into slabs after the restart', async () => {
    const d = open({ id: 'crash', backend: { kind: 'fake' }, inputSlabs: 2 });
    const model = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 3 }], fixedMs: 1, crashIfAnyEquals: 99 });
    await d.loadModel('m', { bytes: model });
    const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
    const crashing = d.runBatch!('m', [pair(99), pair(1)], AXES, { knownOutputs: pairKnown });
    const behind = d.runBatch!('m', [pair(2)], AXES, { knownOutputs: pairKnown });
    expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
    expect(await codeOf(behind)).toBe('WORKER_CRASHED');
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 2 });
    await restarted;
    const out = items(await d.runBatch!('m', [pair(5), pair(6)], AXES, { knownOutputs: pairKnown }));
    expect(out.map((o) => values(o, 'y'))).toEqual([[15, 3], [18, 3]]);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 2, outputRuns: 1 });
  });

  it('takes back the slab of an aborted run whose outputs were in it', async () => {
    const d = open({ id: 'abort', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x' }], fixedMs: 5 }) });
    const ac = new AbortController();
    const aborted = d.runBatch!('m', [pair(1)], AXES, { signal: ac.signal, knownOutputs: pairKnown });
    ac.abort();
    expect(await codeOf(aborted)).toBe('ABORTED');
    const next = items(await d.runBatch!('m', [pair(4)], AXES, { knownOutputs: pairKnown }));
    expect(values(next[0]!, 'y')).toEqual([4, 1]);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 0 });
  });
});
