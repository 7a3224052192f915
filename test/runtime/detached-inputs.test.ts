import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, isEparaError, type NamedTensors } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createDevice, createExecutor, type DeviceHandle, type Executor } from '@epara/runtime';
import { codeOf, doubler, flat, item, values } from './helpers.js';

/*
 * A tensor whose ArrayBuffer was transferred away (detached) reads as empty. Node's postMessage drops a message
 * whose transfer list holds a detached buffer without an error, so a device call over one used to wait forever;
 * stacked into a slab it would have run on the previous batch's values. Every path now refuses it with a typed
 * INVALID_INPUT, and only the request that holds it fails.
 */

/** Detaches `data`'s buffer as a transfer to another thread would. */
function detach(inputs: NamedTensors): void {
  const buffer = (inputs['x']!.data as Float32Array).buffer;
  structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  if (!isEparaError(err)) throw new Error(`expected an EparaError, got ${String(err)}`);
  return { code: err.code, details: err.details };
}

describe('detached input buffers', () => {
  let device: DeviceHandle | undefined;
  let ex: Executor | undefined;
  afterEach(async () => {
    await Promise.all([device?.close(), ex?.close()]);
    device = ex = undefined;
  });

  it('device.run, runTimed and runBatch reject with INVALID_INPUT instead of never settling', async () => {
    device = createDevice({ id: 'd', backend: { kind: 'fake' } });
    await device.loadModel('m', { bytes: doubler() });
    const gone = item(1);
    detach(gone);
    expect(await rejection(device.run('m', gone))).toEqual({ code: 'INVALID_INPUT', details: { input: 'x', detached: true, values: 0, dims: [1, 2] } });
    expect(await codeOf(device.runTimed('m', gone))).toBe('INVALID_INPUT');
    // The slab path (a batch that fits a slab) and the copy path (slabs off) alike.
    expect(await codeOf(device.runBatch!('m', [item(2), gone], { x: 0 }))).toBe('INVALID_INPUT');
    expect(device.inputSlabs!()).toMatchObject({ lent: 0 }); // the slab went back to the pool
    const copying = createDevice({ id: 'c', backend: { kind: 'fake' }, inputSlabBytes: 0 });
    try {
      await copying.loadModel('m', { bytes: doubler() });
      expect(await codeOf(copying.runBatch!('m', [item(2), gone], { x: 0 }))).toBe('INVALID_INPUT');
    } finally {
      await copying.close();
    }
    // The device still serves calls afterwards.
    expect(values(await device.run('m', item(3)))).toEqual([7, 1]);
  });

  it('executor.submit refuses a detached input at once', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, profile: flat(10), devices: ['d0'] }],
    });
    await ex.start();
    const gone = item(1);
    detach(gone);
    expect(await codeOf(ex.submit('s', gone))).toBe('INVALID_INPUT');
  });

  it('a request whose buffer is detached while it is queued fails alone; its batch runs without it', async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock: createManualClock(0),
      timers: createManualTimers(),
      batchWait: 'until-deadline',
      devices: [{ id: 'd0' }],
      services: [{ id: 's', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, profile: flat(10), plan: { batchSize: 2 }, maxBatch: 2, devices: ['d0'] }],
    });
    await ex.start();
    const sizes: number[] = [];
    ex.on('batchDispatched', (e) => sizes.push(e.size));
    const a = item(1);
    const pa = ex.submit('s', a); // waits for a second item: the batch is not full and the deadline is far
    detach(a);
    const pb = ex.submit('s', item(2)); // fills the pair: it launches
    expect(await codeOf(pa)).toBe('INVALID_INPUT');
    expect(values(await pb)).toEqual([5, 1]);
    expect(sizes).toEqual([2]);
    expect(ex.stats().services['s']).toMatchObject({ failed: 1, completed: 1 });
  });
});
