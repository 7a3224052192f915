import { request } from 'node:http';
import { isAbortSignalLike } from '@epara/core/internal';
import type { AbortSignalLike, NamedTensors } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { RequestSignal } from './request-signal.js';

describe('RequestSignal', () => {
  it('is an AbortSignalLike whose listeners run once, in order, and not when removed or added after the abort', () => {
    const s = new RequestSignal();
    expect(isAbortSignalLike(s)).toBe(true);
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const b = (): void => void calls.push('b');
    s.addEventListener('abort', a);
    s.addEventListener('abort', a);
    s.addEventListener('abort', b);
    s.removeEventListener('abort', b);
    s.addEventListener('abort', b);
    s.abort();
    s.abort();
    s.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['a', 'b']);
    expect(s.aborted).toBe(true);
    expect((s.reason as { code?: string }).code).toBe('ABORTED');
  });

  it('runs every listener even when one throws', async () => {
    const s = new RequestSignal();
    let ran = false;
    s.addEventListener('abort', () => {
      throw new Error('listener fault');
    });
    s.addEventListener('abort', () => (ran = true));
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    s.abort();
    expect(ran).toBe(true);
    expect(((await uncaught) as Error).message).toBe('listener fault');
  });

  it('fires when the HTTP client goes away before the answer', async () => {
    let seen: AbortSignalLike | undefined;
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<void>((resolve) => (onAbort = resolve));
    const node = {
      id: 'n',
      view: () => ({ entries: {} }) as never,
      submit: (_s: string, _i: NamedTensors, o?: { signal?: AbortSignalLike }): Promise<NamedTensors> =>
        new Promise((_resolve, reject) => {
          seen = o?.signal;
          o?.signal?.addEventListener('abort', () => (onAbort(), reject(o.signal!.reason)));
        }),
    };
    const gateway = createGateway({ node, models: [{ name: 'm', inputs: [], outputs: [] }], http: { port: 0 }, grpc: false });
    try {
      const url = new URL((await gateway.start()).http!);
      const req = request({ host: url.hostname, port: url.port, path: '/v2/models/m/infer', method: 'POST' });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }));
      while (!seen) await new Promise((r) => setTimeout(r, 5));
      expect(seen.aborted).toBe(false);
      req.destroy();
      await aborted;
      expect(seen.aborted).toBe(true);
      expect(gateway.stats().httpAccepted).toBe(1);
    } finally {
      await gateway.close();
    }
  });
});
