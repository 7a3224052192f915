import { describe, expect, it } from 'vitest';
import { resolveDeviceOptions } from './device-options.js';
import { resolveExecutorOptions } from '../executor/resolve-executor-options.js';

describe('device options by their former names', () => {
  it('reads kind as provider and deviceId as ordinal, so an older host asking for CUDA is not run on the CPU unasked', () => {
    const d = resolveDeviceOptions({ id: 'g0', kind: 'cuda', deviceId: 1 } as never);
    expect(d).toMatchObject({ provider: 'cuda', ordinal: 1 });
    expect('kind' in d || 'deviceId' in d).toBe(false);
    const e = resolveExecutorOptions({ devices: [{ id: 'g0', kind: 'cuda', profileKind: 'gpu-a' } as never] });
    expect(e.devices[0]).toMatchObject({ provider: 'cuda', deviceKind: 'gpu-a' });
    expect(resolveExecutorOptions({ devices: [{ id: 'g0', kind: 'cuda', threads: 2 } as never] }).devices[0]!.deviceKind).toBe('cuda-2t');
  });

  it('rejects a former and a new name that disagree, naming the field', () => {
    expect(() => resolveDeviceOptions({ id: 'g0', kind: 'cuda', provider: 'cpu' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'device.kind' }) }));
    expect(() => resolveExecutorOptions({ devices: [{ id: 'g0', deviceId: 1, ordinal: 2 } as never] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'devices[0].deviceId' }) }));
  });

  it('leaves options in the current names untouched', () => {
    expect(resolveDeviceOptions({ id: 'c0', provider: 'cpu', ordinal: 0 })).toMatchObject({ provider: 'cpu', ordinal: 0 });
  });
});
