import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { fakeModelBytes, type KnownOutput, type TimedRun, type WorkerRestartedEvent } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { codeOf, values, devicesClosedAfterEach } from './helpers.js';

/*
 * The shared-memory doorbell: once a batch layout ran by message in its slab, later batches of it ring in
 * through a slot of shared memory and come back the same way (no postMessage either way). Checked for results,
 * for the message path it falls back to, and for the failure story (typed errors, crash, restart, abort).
 */

const AXES = { x: 0 };
const pair = (a: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, 1]) } });
const pairKnown: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];
const fake = (extra: Partial<Parameters<typeof fakeModelBytes>[0]> = {}): Uint8Array =>
  fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 3 }], ...extra });

function items(run: TimedRun): readonly NamedTensors[] {
  if (!run.items) throw new Error('expected per-request outputs');
  return run.items;
}

describe('device doorbell', () => {
  const open = devicesClosedAfterEach();

  it('rings batches of a layout in once one of them ran by message, with the same answers', async () => {
    const d = open({ id: 'ring', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fake() });
    const first = items(await d.runBatch!('m', [pair(1), pair(2), pair(3)], AXES, { knownOutputs: pairKnown }));
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, rungRuns: 0 });
    const later: (readonly NamedTensors[])[] = [];
    for (let round = 0; round < 20; round++) later.push(items(await d.runBatch!('m', [pair(100 + round), pair(200 + round), pair(300 + round)], AXES, { knownOutputs: pairKnown })));
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, rungRuns: 20, lent: 0 });
    expect(first.map((o) => values(o, 'y'))).toEqual([[3, 3], [6, 3], [9, 3]]);
    // Each batch's outputs are its own copy, never the slot a later batch wrote into.
    later.forEach((out, round) => expect(out.map((o) => values(o, 'y'))).toEqual([[3 * (100 + round), 3], [3 * (200 + round), 3], [3 * (300 + round), 3]]));
    expect((later[0]![0]!['y']!.data as Float32Array).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('rings several batches in at once and answers each its own, in order', async () => {
    const d = open({ id: 'many', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fake({ fixedMs: 1 }) });
    await d.runBatch!('m', [pair(0)], AXES, { knownOutputs: pairKnown });
    // More than the ring's slots: the rest go by message, and every call still gets its own answer.
    const runs = Array.from({ length: 12 }, (_, i) => d.runBatch!('m', [pair(i)], AXES, { knownOutputs: pairKnown }));
    const outs = await Promise.all(runs);
    // (Past the ring and the slab pool, batches take the copy path, whose outputs come whole.)
    expect(outs.map((r) => (r.items ? values(r.items[0]!, 'y') : values(r.outputs, 'y')))).toEqual(Array.from({ length: 12 }, (_, i) => [3 * i, 3]));
    expect(d.inputSlabs!().rungRuns).toBeGreaterThan(0);
  });

  it('keeps the message path for batches larger than a slot, and when turned off', async () => {
    const big = open({ id: 'big', backend: { kind: 'fake' }, doorbellSlotBytes: 16 });
    await big.loadModel('m', { bytes: fake() });
    const off = open({ id: 'off', backend: { kind: 'fake' }, doorbellSlotBytes: 0 });
    await off.loadModel('m', { bytes: fake() });
    for (const d of [big, off]) {
      for (let i = 0; i < 3; i++) expect(values(items(await d.runBatch!('m', [pair(i), pair(1)], AXES, { knownOutputs: pairKnown }))[0]!, 'y')).toEqual([3 * i, 3]);
      expect(d.inputSlabs!()).toMatchObject({ slabRuns: 3, rungRuns: 0 });
    }
  });

  it('fails a rung batch the model refuses with MODEL_ERROR, and rings the next one in', async () => {
    const d = open({ id: 'err', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fake({ failIfAnyEquals: 7 }) });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: pairKnown });
    expect(await codeOf(d.runBatch!('m', [pair(7)], AXES, { knownOutputs: pairKnown }))).toBe('MODEL_ERROR');
    expect(values(items(await d.runBatch!('m', [pair(2)], AXES, { knownOutputs: pairKnown }))[0]!, 'y')).toEqual([6, 3]);
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, rungRuns: 2 });
  });

  for (const doorbellSpinUs of [0, 200]) {
    it(`rings a batch in behind an unanswered message, and the worker runs both paths in the order sent (poll ${doorbellSpinUs} µs)`, async () => {
      // A slot of 32 bytes: a batch of one (8 bytes in, 8 out) rings in, a batch of three (24 + 24) goes by message.
      const d = open({ id: 'order', backend: { kind: 'fake' }, doorbellSlotBytes: 32, doorbellSpinUs });
      await d.loadModel('m', { bytes: fake({ perItemMs: 10, outputs: [{ name: 'y', from: 'x', scale: 0, addRunIndex: true }] }) });
      await d.runBatch!('m', [pair(0)], AXES, { knownOutputs: pairKnown }); // run 0: the worker keeps the layout of one
      const batch = (n: number): Promise<TimedRun> => d.runBatch!('m', Array.from({ length: n }, (_, i) => pair(i)), AXES, { knownOutputs: pairKnown });
      // The first (30 ms) is still running when the rest are sent: when it ends, the ring holds two calls whose
      // messages ahead of them have not been read yet; they must wait for them.
      const heard: number[] = [];
      const sent = [3, 3, 1, 3, 1].map((n, i) => batch(n).then((r) => (heard.push(i), r)));
      expect(d.inputSlabs!().rungRuns).toBe(2);
      const runs = await Promise.all(sent);
      // Every output is the index of the run that made it: runs 1-5 in the order the batches were sent, and their
      // answers heard in that order too (a rung answer waits for the message answer posted before it).
      expect(runs.map((r) => values(items(r)[0]!, 'y')[0])).toEqual([1, 2, 3, 4, 5]);
      expect(heard).toEqual([0, 1, 2, 3, 4]);
      // Behind the ring, the message path again (a load), and a ring behind it.
      await d.loadModel('n', { bytes: fake() });
      expect(values(items(await batch(1))[0]!, 'y')[0]).toBe(6);
      expect(d.inputSlabs!()).toMatchObject({ rungRuns: 3, lent: 0 });
    });
  }

  it('fails a batch rung in behind a message WORKER_CRASHED when the message crashes the worker, and rings in again after the restart', async () => {
    const d = open({ id: 'crash-behind', backend: { kind: 'fake' }, doorbellSlotBytes: 32 });
    await d.loadModel('m', { bytes: fake({ fixedMs: 1, crashIfAnyEquals: 99 }) });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: pairKnown });
    const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
    const crashing = d.runBatch!('m', [pair(99), pair(1), pair(1)], AXES, { knownOutputs: pairKnown });
    const behind = d.runBatch!('m', [pair(2)], AXES, { knownOutputs: pairKnown });
    expect(d.inputSlabs!().rungRuns).toBe(1);
    expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
    expect(await codeOf(behind)).toBe('WORKER_CRASHED');
    await restarted;
    for (let i = 0; i < 3; i++) expect(values(items(await d.runBatch!('m', [pair(4 + i)], AXES, { knownOutputs: pairKnown }))[0]!, 'y')).toEqual([12 + 3 * i, 3]);
    expect(d.inputSlabs!().rungRuns).toBeGreaterThan(1);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0 });
  });

  it('fails rung batches of a crashed worker WORKER_CRASHED, and rings in again after the restart', async () => {
    const d = open({ id: 'crash', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fake({ fixedMs: 1, crashIfAnyEquals: 99 }) });
    await d.runBatch!('m', [pair(1), pair(1)], AXES, { knownOutputs: pairKnown });
    const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
    const crashing = d.runBatch!('m', [pair(99), pair(1)], AXES, { knownOutputs: pairKnown });
    const behind = d.runBatch!('m', [pair(2), pair(2)], AXES, { knownOutputs: pairKnown });
    expect(d.inputSlabs!().rungRuns).toBe(2);
    expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
    expect(await codeOf(behind)).toBe('WORKER_CRASHED');
    await restarted;
    // The new worker knows no layout: batches by message until it keeps one, then the ring again.
    for (let i = 0; i < 4; i++) expect(items(await d.runBatch!('m', [pair(5 + i), pair(6)], AXES, { knownOutputs: pairKnown })).map((o) => values(o, 'y'))).toEqual([[15 + 3 * i, 3], [18, 3]]);
    expect(d.inputSlabs!().rungRuns).toBeGreaterThan(2);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0 });
  });

  it('forgets a model reloaded under the same key: its batches go by message first again', async () => {
    const d = open({ id: 'reload', backend: { kind: 'fake' } });
    await d.loadModel('m', { bytes: fake() });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: pairKnown });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: pairKnown });
    await d.loadModel('m', { bytes: fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 5 }] }) });
    expect(values(items(await d.runBatch!('m', [pair(2)], AXES, { knownOutputs: pairKnown }))[0]!, 'y')).toEqual([10, 5]);
    expect(values(items(await d.runBatch!('m', [pair(3)], AXES, { knownOutputs: pairKnown }))[0]!, 'y')).toEqual([15, 5]);
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 2, rungRuns: 2 });
  });

  it('rings the real classifier in only when its batch fits a slot, with the answers of the message path', async () => {
    const d = open({ id: 'cls', threads: 1, doorbellSlotBytes: 512 * 1024 });
    await d.loadModel('cls', { path: models.ocrCls });
    const CLS_ITEM = 3 * 48 * 192;
    const item = (seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 48, 192], data: seededFloats(CLS_ITEM, seed) } });
    const known: KnownOutput[] = [{ name: 'softmax_0.tmp_0', type: 'float32', dims: [1, 2], axis: 0 }];
    const batch = [item(1), item(2)];
    const byMessage = items(await d.runBatch!('cls', batch, AXES, { knownOutputs: known }));
    const rung = items(await d.runBatch!('cls', batch, AXES, { knownOutputs: known }));
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, rungRuns: 1 });
    rung.forEach((o, i) => values(o, 'softmax_0.tmp_0').forEach((v, k) => expect(v).toBeCloseTo(values(byMessage[i]!, 'softmax_0.tmp_0')[k]!, 6)));
    // Five items (550 KB) do not fit the 512 KiB slot: by message.
    await d.runBatch!('cls', [1, 2, 3, 4, 5].map(item), AXES, { knownOutputs: known });
    expect(d.inputSlabs!()).toMatchObject({ slabRuns: 2, rungRuns: 1 });
  });
});
