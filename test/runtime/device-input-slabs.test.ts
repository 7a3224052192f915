import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { fakeModelBytes, type DeviceHandle, type TimedRun, type WorkerRestartedEvent } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { codeOf, devicesClosedAfterEach } from './helpers.js';

/*
 * The input slab data path: batches stacked in place into reusable slabs lent to the worker, checked against
 * the copy path (stack into a fresh buffer, transfer) on the real classifier and on the fake backend.
 */

const CLS_ITEM = 3 * 48 * 192;
const clsItem = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(CLS_ITEM, seed) } });
const AXES = { x: 0 };

const crashModel = fakeModelBytes({
  inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }],
  outputs: [{ name: 'y', from: 'x', scale: 3 }],
  fixedMs: 1,
  crashIfAnyEquals: 99,
  crashMode: 'exit',
});
const pair = (a: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, 1]) } });

function runBatch(d: DeviceHandle, key: string, items: readonly NamedTensors[]): Promise<TimedRun> {
  if (!d.runBatch) throw new Error('createDevice devices run batches');
  return d.runBatch(key, items, AXES);
}

describe('device input slabs', () => {
  const open = devicesClosedAfterEach();

  it('gives the copy path’s outputs on the real classifier, leaves the callers’ arrays intact, and reuses its slabs', async () => {
    const slabbed = open({ id: 'slab', threads: 1 });
    const copying = open({ id: 'copy', threads: 1, inputSlabBytes: 0 });
    await Promise.all([slabbed.loadModel('cls', { path: models.ocrCls }), copying.loadModel('cls', { path: models.ocrCls })]);
    for (const n of [1, 3, 8]) {
      const items = Array.from({ length: n }, (_, i) => clsItem(n * 10 + i));
      const viaSlab = await runBatch(slabbed, 'cls', items);
      // Every caller's array is still readable (the copy path's single item would be transferred away).
      for (const it of items) expect(it['x']!.data.length).toBe(CLS_ITEM);
      const viaCopy = await runBatch(copying, 'cls', items.map((it) => ({ x: { ...it['x']!, data: it['x']!.data.slice() } })));
      const name = Object.keys(viaCopy.outputs)[0]!;
      expect(viaSlab.outputs[name]!.dims).toEqual(viaCopy.outputs[name]!.dims);
      expect(Array.from(viaSlab.outputs[name]!.data as Float32Array)).toEqual(Array.from(viaCopy.outputs[name]!.data as Float32Array));
    }
    const s = slabbed.inputSlabs!();
    expect(s).toMatchObject({ slabRuns: 3, copyRuns: 0, lent: 0, lost: 0 });
    // A batch takes the smallest slab that holds it (1, 3 and 8 items of 110 KB: 128 KiB, 512 KiB, 1 MiB)...
    expect(s.allocated).toBe(3);
    // ...and the same batches again reuse them.
    for (const n of [8, 3, 1]) await runBatch(slabbed, 'cls', Array.from({ length: n }, (_, i) => clsItem(i)));
    expect(slabbed.inputSlabs!()).toMatchObject({ slabRuns: 6, allocated: 3, held: 3, free: 3 });
    expect(copying.inputSlabs!()).toMatchObject({ slabRuns: 0, copyRuns: 3, allocated: 0 });
  });

  it('sends a batch larger than a slab down the copy path, with the same result', async () => {
    const d = open({ id: 'small', threads: 1, inputSlabBytes: 2 * CLS_ITEM * 4 });
    await d.loadModel('cls', { path: models.ocrCls });
    const items = [clsItem(1), clsItem(2), clsItem(3)];
    const big = await runBatch(d, 'cls', items.map((it) => ({ x: { ...it['x']!, data: it['x']!.data.slice() } })));
    const small = await runBatch(d, 'cls', items.slice(0, 2));
    expect(d.inputSlabs!()).toMatchObject({ copyRuns: 1, slabRuns: 1, allocated: 1 });
    const name = Object.keys(big.outputs)[0]!;
    const row = (t: TimedRun, i: number): number[] => Array.from((t.outputs[name]!.data as Float32Array).subarray(2 * i, 2 * i + 2));
    expect(row(small, 0)).toEqual(row(big, 0));
    expect(row(small, 1)).toEqual(row(big, 1));
  });

  it('stacks along a non-leading batch axis and places shared tensors once', async () => {
    const d = open({ id: 'axes', backend: { kind: 'fake' } });
    const model = fakeModelBytes({
      inputs: [
        { name: 's', type: 'float32', dims: [2, 'batch', 3] },
        { name: 'k', type: 'int32', dims: [2] },
      ],
      outputs: [{ name: 'y', from: 's' }, { name: 'kk', from: 'k' }],
      batchInput: 's',
      batchAxis: 1,
    });
    await d.loadModel('m', { bytes: model });
    const item = (base: number): NamedTensors => ({
      s: { type: 'float32', dims: [2, 1, 3], data: Float32Array.from({ length: 6 }, (_, i) => base + i) },
      k: { type: 'int32', dims: [2], data: new Int32Array([7, 8]) },
    });
    const out = await d.runBatch!('m', [item(0), item(10)], { s: 1, k: null });
    expect(out.outputs['y']!.dims).toEqual([2, 2, 3]);
    expect(Array.from(out.outputs['y']!.data as Float32Array)).toEqual([0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15]);
    expect(Array.from(out.outputs['kk']!.data as Int32Array)).toEqual([7, 8]);
  });

  it('writes off the slabs of a crashed worker, fails its runs WORKER_CRASHED, and serves from slabs after the restart', async () => {
    const d = open({ id: 'crash', backend: { kind: 'fake' }, inputSlabs: 2 });
    await d.loadModel('m', { bytes: crashModel });
    const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
    const crashing = runBatch(d, 'm', [pair(99), pair(1)]);
    const behind = runBatch(d, 'm', [pair(2)]);
    expect(d.inputSlabs!().lent).toBe(2);
    expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
    expect(await codeOf(behind)).toBe('WORKER_CRASHED');
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 2, free: 0 });
    await restarted;
    const out = await runBatch(d, 'm', [pair(5), pair(6)]);
    expect(Array.from(out.outputs['y']!.data as Float32Array)).toEqual([15, 3, 18, 3]);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 2, allocated: 3, free: 1 });
  });

  it('takes back the slab of an aborted run and of a failed run', async () => {
    const d = open({ id: 'abort', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x' }], fixedMs: 5, failIfAnyEquals: 7 }) });
    const ac = new AbortController();
    const aborted = d.runBatch!('m', [pair(1)], AXES, { signal: ac.signal });
    ac.abort();
    expect(await codeOf(aborted)).toBe('ABORTED');
    expect(await codeOf(runBatch(d, 'm', [pair(7)]))).toBe('MODEL_ERROR');
    expect(await codeOf(runBatch(d, 'm', [pair(3)]))).toBe('resolved'); // after the aborted one's answer
    expect(d.inputSlabs!()).toMatchObject({ lent: 0, lost: 0 });
    expect(d.inputSlabs!().allocated).toBeLessThanOrEqual(2);
  });

  it('does not grow over many batches, several in flight at once', async () => {
    const d = open({ id: 'many', backend: { kind: 'fake' }, inputSlabs: 3 });
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 2 }] }) });
    for (let round = 0; round < 50; round++) {
      const runs = Array.from({ length: 5 }, (_, k) => runBatch(d, 'm', [pair(round), pair(k)]));
      const outs = await Promise.all(runs);
      outs.forEach((o, k) => expect(Array.from(o.outputs['y']!.data as Float32Array)).toEqual([2 * round, 2, 2 * k, 2]));
    }
    const s = d.inputSlabs!();
    expect(s.allocated).toBe(3);
    expect(s).toMatchObject({ lent: 0, lost: 0, free: 3 });
    expect(s.slabRuns + s.copyRuns).toBe(250);
    expect(s.slabRuns).toBeGreaterThanOrEqual(150);
  });
});
