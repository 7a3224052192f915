import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createDevice, createExecutor, type DeviceFellBackEvent, type Executor, type ExecutorDeviceOptions } from '@epara/runtime';
import { isEparaError, type Logger } from '@epara/core';
import { codeOf } from '../runtime/helpers.js';
import { addService, first, item } from './helpers.js';

/** The `INVALID_OPTIONS` field `fn` throws, or what else happened. */
function refusedField(fn: () => unknown): unknown {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
  }
}

/** A logger that keeps its warnings. */
function warnings(): { logger: Logger; warned: string[] } {
  const warned: string[] = [];
  const none = (): void => undefined;
  const logger = { debug: none, info: none, error: none, warn: (_o: unknown, msg?: string) => void warned.push(String(msg)) } as unknown as Logger;
  return { logger, warned };
}

describe('device options on onnxruntime-node', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  // This machine has no GPU (nor the CUDA provider's libraries): docs/runtime.md promises a CPU session and an event.
  it.each([0, 3])('a cuda device (ordinal %i) without a GPU runs on the CPU, with a deviceFellBack event and a warning', async (ordinal) => {
    const { logger, warned } = warnings();
    ex = createExecutor({ logger, devices: [{ id: 'cpu0', provider: 'cuda', ordinal }], services: [addService()] });
    const fell: DeviceFellBackEvent[] = [];
    ex.on('deviceFellBack', (e) => fell.push(e));
    await ex.start();
    expect(fell).toEqual([expect.objectContaining({ deviceId: 'cpu0', requested: 'cuda', used: 'cpu', reason: expect.any(String) })]);
    expect(warned.some((w) => w.includes('CUDA'))).toBe(true);
    expect((await Promise.all([1, 2, 3, 4].map((v) => ex!.submit('add', item(v))))).map(first)).toEqual([2, 3, 4, 5]);
    expect(ex.stats().devices['cpu0']).toMatchObject({ provider: 'cuda', fellBack: true });
  }, 60_000);

  it('refuses thread budgets that are not positive integers, naming the field, before any worker starts', () => {
    for (const threads of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2']) {
      expect(refusedField(() => createExecutor({ devices: [{ id: 'cpu0', threads } as unknown as ExecutorDeviceOptions], services: [] }))).toBe('device.threads');
      expect(refusedField(() => createDevice({ id: 'cpu0', threads: threads as number }))).toBe('device.threads');
    }
  });

  it('takes more threads than the machine has cores, warns that they leave the host no core, and still answers', async () => {
    const { logger, warned } = warnings();
    // launchWhenIdle: the plan measured at these threads may wait for a fuller batch (the deadline is a minute away).
    ex = createExecutor({ logger, launchWhenIdle: true, devices: [{ id: 'cpu0', threads: availableParallelism() + 3 }], services: [addService()] });
    await ex.start();
    expect(warned.some((w) => w.includes('intra-op threads'))).toBe(true);
    expect((await Promise.all([ex.submit('add', item(1)), ex.submit('add', item(2))])).map(first)).toEqual([2, 3]);
  }, 60_000);

  it('refuses an empty device list, duplicated device ids and unknown or repeated devices of a service', async () => {
    expect(refusedField(() => createExecutor({ devices: [], services: [] }))).toBe('devices');
    expect(refusedField(() => createExecutor({ devices: [{ id: 'a' }, { id: 'a' }], services: [] }))).toBe('devices[1].id');
    expect(refusedField(() => createExecutor({ devices: [{ id: 'cpu0' }], services: [addService({ devices: ['gpu9'] })] }))).toBe('services[0].devices[0]');
    ex = createExecutor({ devices: [{ id: 'cpu0' }, { id: 'cpu1' }], services: [addService({ devices: [] })] });
    for (const deviceIds of [[], ['gpu9'], ['cpu0', 'cpu0']]) expect(await codeOf(ex.load({ serviceId: 'add' }, { deviceIds }))).toBe('INVALID_OPTIONS');
    expect(ex.instances()).toEqual([]); // nothing half-loaded
    await ex.load({ serviceId: 'add' }, { deviceIds: ['cpu0', 'cpu1'] });
    expect(first(await ex.submit('add', item(1)))).toBe(2);
  }, 60_000);
});
