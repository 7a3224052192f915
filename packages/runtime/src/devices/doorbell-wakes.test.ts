import { afterAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createDevice } from './device-handle.js';
import { fakeModelBytes } from './fake-backend.js';
import type { KnownOutput } from './slab-outputs.js';

/*
 * The doorbell's wake-ups on a real device worker, counted: the host notifies the worker only while it is parked
 * (at most once per park), so a batch rung in behind a running one costs no notify; before, every ring notified.
 */

const AXES = { x: 0 };
const pair = (a: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, 1]) } });
const known: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];
const model = (fixedMs: number): Uint8Array => fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 3 }], fixedMs });

describe('doorbell wake-ups', () => {
  const d = createDevice({ id: 'wakes', backend: { kind: 'fake' } });
  afterAll(() => d.close());

  it('notifies a parked worker once per ring, and a running one never', async () => {
    await d.loadModel('quick', { bytes: model(0) });
    await d.loadModel('slow', { bytes: model(30) });
    for (const key of ['quick', 'slow']) await d.runBatch!(key, [pair(0)], AXES, { knownOutputs: known }); // by message: the worker keeps the layout
    const start = d.inputSlabs!();
    // Sequential: the worker parks between calls, so each ring wakes it.
    for (let i = 0; i < 20; i++) expect(await d.runBatch!('quick', [pair(i)], AXES, { knownOutputs: known })).toBeDefined();
    const sequential = d.inputSlabs!();
    expect(sequential.rungRuns - start.rungRuns).toBe(20);
    expect(sequential.ringWakes - start.ringWakes).toBeLessThanOrEqual(20);
    // Two batches rung in the same turn of the host's loop: the first wakes the worker (the notify clears its
    // mark), the second finds it awake — it reads the ring before it parks, 30 ms of run later.
    for (let i = 0; i < 4; i++) {
      const both = await Promise.all([d.runBatch!('slow', [pair(i)], AXES, { knownOutputs: known }), d.runBatch!('slow', [pair(i + 10)], AXES, { knownOutputs: known })]);
      expect(both.map((r) => Array.from(r.items![0]!['y']!.data as Float32Array))).toEqual([[3 * i, 3], [3 * (i + 10), 3]]);
    }
    const end = d.inputSlabs!();
    expect(end.rungRuns - sequential.rungRuns).toBe(8);
    expect(end.ringWakes - sequential.ringWakes).toBeLessThan(8);
    // However the threads met: never more notifies than parks (each park wants one at most).
    expect(end.ringWakes).toBeLessThanOrEqual(end.workerParks);
    expect(end.answerWakes).toBeLessThanOrEqual(end.rungRuns);
  });
});
