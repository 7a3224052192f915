import { describe, expect, it, vi } from 'vitest';
import { resolveDeviceOptions } from './device-options.js';

// What the backend hands onnxruntime: the session options of each `InferenceSession.create`.
const created = vi.hoisted(() => [] as Record<string, unknown>[]);
vi.mock('onnxruntime-node', () => ({
  InferenceSession: {
    create: async (_source: unknown, options: Record<string, unknown>) => {
      created.push(options);
      return { inputMetadata: [], outputMetadata: [], run: async () => ({}), release: async () => undefined };
    },
  },
  Tensor: class {},
}));

const { createOrtBackend } = await import('./ort-backend.js');

const spinning = (o: Record<string, unknown> | undefined): unknown => (o?.['extra'] as { session?: { intra_op?: { allow_spinning?: string } } } | undefined)?.session?.intra_op?.allow_spinning;

describe('onnxruntime session options', () => {
  it("turns onnxruntime's spinning off unless the device asks for it, with the device's thread budget", async () => {
    created.length = 0;
    const backend = createOrtBackend();
    await backend.createSession({ path: 'm.onnx' }, { threads: 2, spinWait: false, executionProvider: 'cpu', ordinal: 0 });
    await backend.createSession({ path: 'm.onnx' }, { threads: 3, spinWait: true, executionProvider: 'cpu', ordinal: 0 });
    expect(created.map((o) => [o['intraOpNumThreads'], o['interOpNumThreads'], spinning(o)])).toEqual([
      [2, 1, '0'],
      [3, 1, '1'],
    ]);
    expect(created[0]?.['extra']).toEqual({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
  });

  it('defaults spinWait to false and refuses a value that is not a boolean', () => {
    expect(resolveDeviceOptions({ id: 'd' }).spinWait).toBe(false);
    expect(resolveDeviceOptions({ id: 'd', spinWait: true }).spinWait).toBe(true);
    expect(() => resolveDeviceOptions({ id: 'd', spinWait: 'yes' as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'device.spinWait' }) }));
  });
});
