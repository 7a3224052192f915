import { describe, expect, it } from 'vitest';
import { EparaError, type AbortSignalLike, type NamedTensors } from '@epara/core';
import { createExecutor, type EngineSubmitOptions } from '@epara/runtime';

/** A signal that is not a platform `AbortSignal`: only the `AbortSignalLike` surface (as the gateway's is). */
function lightSignal(): AbortSignalLike & { abort(): void } {
  const listeners = new Set<() => void>();
  const s = {
    aborted: false,
    reason: undefined as unknown,
    addEventListener: (_t: 'abort', l: () => void) => void listeners.add(l),
    removeEventListener: (_t: 'abort', l: () => void) => void listeners.delete(l),
    abort() {
      s.aborted = true;
      s.reason = new EparaError('ABORTED', 'gone');
      for (const l of listeners) l();
    },
  };
  return s;
}

describe('a custom engine gets the caller’s signal as an AbortSignalLike', () => {
  it('sees a non-platform signal, and aborting it settles the request ABORTED', async () => {
    let seen: EngineSubmitOptions['signal'];
    const ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 'custom',
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 10_000 },
          devices: ['d0'],
          engine: () => ({
            submit: (_x: NamedTensors, o: EngineSubmitOptions) =>
              new Promise<NamedTensors>((_resolve, reject) => {
                seen = o.signal;
                o.signal?.addEventListener('abort', () => reject(new EparaError('ABORTED', 'aborted by the caller')));
              }),
            estimate: (now: number) => now + 1,
            close: async () => undefined,
          }),
        },
      ],
    });
    await ex.start();
    try {
      const signal = lightSignal();
      const pending = ex.submit('custom', {}, { signal });
      await new Promise((r) => setImmediate(r));
      expect(seen).toBe(signal);
      signal.abort();
      await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    } finally {
      await ex.close();
    }
  });
});
