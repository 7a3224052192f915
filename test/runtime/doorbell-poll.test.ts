import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createDevice, createExecutor, fakeModelBytes, type KnownOutput, type TimedRun, type WorkerRestartedEvent } from '@epara/runtime';
import { codeOf, values, devicesClosedAfterEach } from './helpers.js';

/*
 * A device whose worker polls its doorbell before it parks (`doorbellSpinUs`): the same answers and the same
 * failure story as a worker that parks at once, whichever of the poll, the park or a message takes each call.
 * Nothing here depends on how many calls the poll caught (a timing); the counts checked hold either way.
 */

const AXES = { x: 0 };
const pair = (a: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, 1]) } });
const known: KnownOutput[] = [{ name: 'y', type: 'float32', dims: [1, 2], axis: 0 }];
const fake = (extra: Partial<Parameters<typeof fakeModelBytes>[0]> = {}): Uint8Array =>
  fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x', scale: 3 }], ...extra });

function first(run: TimedRun): number[] {
  if (!run.items) throw new Error('expected per-request outputs');
  return values(run.items[0]!, 'y');
}

describe('doorbell poll', () => {
  const open = devicesClosedAfterEach();

  it('refuses a poll that is not a number of microseconds from 0 to 1000, naming the field', () => {
    for (const doorbellSpinUs of [-1, Number.NaN, 1001, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      expect(() => createDevice({ id: 'p', doorbellSpinUs })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'device.doorbellSpinUs' }) }));
      expect(() => createExecutor({ devices: [{ id: 'p', doorbellSpinUs }] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    }
  });

  it('answers sequential and overlapping rung batches with the results of a worker that parks at once', async () => {
    const polling = open({ id: 'poll', backend: { kind: 'fake' }, doorbellSpinUs: 1000 });
    const parking = open({ id: 'park', backend: { kind: 'fake' } });
    const answers: number[][][] = [];
    for (const d of [polling, parking]) {
      await d.loadModel('m', { bytes: fake() });
      const out: number[][] = [];
      for (let i = 0; i < 30; i++) out.push(first(await d.runBatch!('m', [pair(i)], AXES, { knownOutputs: known })));
      const overlapping = await Promise.all(Array.from({ length: 8 }, (_, i) => d.runBatch!('m', [pair(100 + i)], AXES, { knownOutputs: known })));
      out.push(...overlapping.map((r) => (r.items ? first(r) : values(r.outputs, 'y'))));
      answers.push(out);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toEqual([...Array.from({ length: 30 }, (_, i) => [3 * i, 3]), ...Array.from({ length: 8 }, (_, i) => [3 * (100 + i), 3])]);
    const s = polling.inputSlabs!();
    expect(s.rungRuns).toBeGreaterThanOrEqual(29);
    // A poll that caught a call parked no thread and cost no notify: never more notifies than parks.
    expect(s.ringWakes).toBeLessThanOrEqual(s.workerParks);
    expect(s.lent).toBe(0);
  });

  it('serves messages that arrive while it polls (a load between rung batches)', async () => {
    const d = open({ id: 'msg', backend: { kind: 'fake' }, doorbellSpinUs: 1000 });
    await d.loadModel('m', { bytes: fake() });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: known });
    expect(first(await d.runBatch!('m', [pair(2)], AXES, { knownOutputs: known }))).toEqual([6, 3]);
    // Sent right after a rung answer, while the worker polls: it is read once the poll ends.
    await d.loadModel('other', { bytes: fake({ outputs: [{ name: 'y', from: 'x', scale: 5 }] }) });
    expect(first(await d.runBatch!('other', [pair(2)], AXES, { knownOutputs: known }))).toEqual([10, 5]);
    expect(first(await d.runBatch!('m', [pair(3)], AXES, { knownOutputs: known }))).toEqual([9, 3]);
  });

  it('fails a refused rung batch MODEL_ERROR and a crashed worker’s WORKER_CRASHED, then restarts and polls again', async () => {
    const d = open({ id: 'crash', backend: { kind: 'fake' }, doorbellSpinUs: 1000 });
    await d.loadModel('m', { bytes: fake({ failIfAnyEquals: 7, crashIfAnyEquals: 99, fixedMs: 1 }) });
    await d.runBatch!('m', [pair(1)], AXES, { knownOutputs: known });
    expect(await codeOf(d.runBatch!('m', [pair(7)], AXES, { knownOutputs: known }))).toBe('MODEL_ERROR');
    expect(first(await d.runBatch!('m', [pair(2)], AXES, { knownOutputs: known }))).toEqual([6, 3]);
    const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
    const crashing = d.runBatch!('m', [pair(99)], AXES, { knownOutputs: known });
    const behind = d.runBatch!('m', [pair(3)], AXES, { knownOutputs: known });
    expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
    expect(await codeOf(behind)).toBe('WORKER_CRASHED');
    await restarted;
    for (let i = 0; i < 4; i++) expect(first(await d.runBatch!('m', [pair(10 + i)], AXES, { knownOutputs: known }))).toEqual([30 + 3 * i, 3]);
    expect(d.inputSlabs!()).toMatchObject({ lent: 0 });
  });

  it('is passed on by the executor to its devices', async () => {
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0', doorbellSpinUs: 500 }],
      services: [{ id: 's', model: fake(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, plan: { batchSize: 1 }, maxBatch: 1, devices: ['d0'] }],
    });
    try {
      await ex.start();
      for (let i = 0; i < 20; i++) expect(values(await ex.submit('s', pair(i)), 'y')).toEqual([3 * i, 3]);
      const s = ex.stats().devices?.['d0']?.inputSlabs;
      expect(s?.rungRuns).toBeGreaterThan(0);
      expect(s!.ringWakes).toBeLessThanOrEqual(s!.workerParks);
    } finally {
      await ex.close();
    }
  });
});
