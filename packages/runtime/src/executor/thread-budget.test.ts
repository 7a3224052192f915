import { describe, expect, it } from 'vitest';
import { silentLogger } from '@epara/core';
import { resolveExecutorOptions } from './resolve-executor-options.js';
import { threadBudget, warnIfOversubscribed } from './thread-budget.js';

const devices = (...threads: number[]) => threads.map((t, i) => ({ id: `cpu${i}`, threads: t, deviceKind: `cpu-${t}t` }));

describe('the devices’ thread budget', () => {
  it('counts the intra-op threads of CPU devices against the cores the host thread keeps', () => {
    expect(threadBudget(devices(1, 1), 1, 4)).toEqual({ deviceThreads: 2, cores: 4, hostCores: 1, oversubscribed: false });
    expect(threadBudget(devices(1, 1), 1, 2).oversubscribed).toBe(true);
    expect(threadBudget(devices(2), 1, 2).oversubscribed).toBe(true);
    expect(threadBudget(devices(2), 0, 2).oversubscribed).toBe(false);
    // A CUDA device's sessions compute on the GPU: its host threads are not counted.
    expect(threadBudget([...devices(1), { id: 'gpu0', provider: 'cuda' as const, threads: 4, deviceKind: 'cuda-4t' }], 1, 2).deviceThreads).toBe(1);
  });

  it('warns through the logger when the host is left without its core', () => {
    const warned: unknown[] = [];
    const logger = { ...silentLogger, warn: (obj: object | string) => void warned.push(obj) };
    warnIfOversubscribed({ devices: devices(1), hostCores: 1, logger }, 2);
    expect(warned).toEqual([]);
    warnIfOversubscribed({ devices: devices(1, 1), hostCores: 1, logger }, 2);
    expect(warned).toEqual([{ deviceThreads: 2, cores: 2, hostCores: 1, oversubscribed: true }]);
  });

  it('defaults hostCores to 1 and refuses a value that is not a non-negative integer', () => {
    expect(resolveExecutorOptions({ devices: [{ id: 'd' }] }).hostCores).toBe(1);
    expect(() => resolveExecutorOptions({ devices: [{ id: 'd' }], hostCores: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'hostCores' }) }));
  });
});
