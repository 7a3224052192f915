import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEparaError, type NamedTensors } from '@epara/core';
import { checkSignal } from '@epara/core/internal';
import { buildTinyCausalLm, createDevice, createExecutor, createGenerationEngine, createPipelineEngine, profileModel, type Executor } from '@epara/runtime';
import { codeOf, doubler, flat, item } from './helpers.js';

/*
 * A `signal` that is not an AbortSignal must fail as INVALID_OPTIONS at every public entry that takes one,
 * never as a raw TypeError from deep inside (or an abort that silently never fires).
 */

const BAD: readonly unknown[] = ['stop', 42, {}, { aborted: false }, { addEventListener() {}, removeEventListener() {} }, () => undefined];
const latency = { sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 5000 } };

/** The code of a call that may throw synchronously or reject. */
async function codeOfCall(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'resolved';
  } catch (err) {
    return isEparaError(err) ? err.code : `untyped: ${String(err)}`;
  }
}

describe('signal validation', () => {
  let ex: Executor;
  beforeAll(async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [
        { id: 's', model: doubler(), ...latency, profile: flat(1), devices: ['d0'] },
        { id: 'f', model: doubler(), sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 10, stalenessMs: 1000 }, profile: flat(1), devices: ['d0'] },
      ],
    });
    await ex.start();
  });
  afterAll(async () => {
    await ex.close();
  });

  it('checkSignal accepts real signals, signal-likes from other realms, null and undefined', () => {
    for (const ok of [undefined, null, new AbortController().signal, AbortSignal.abort(), { aborted: false, addEventListener() {}, removeEventListener() {} }]) {
      expect(() => checkSignal(ok)).not.toThrow();
    }
    for (const bad of BAD) {
      let err: unknown;
      try {
        checkSignal(bad);
      } catch (e) {
        err = e;
      }
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
      expect(isEparaError(err) && err.details['field']).toBe('signal');
    }
  });

  it.each(BAD.map((b) => [typeof b === 'function' ? 'function' : JSON.stringify(b), b]))('executor entries reject signal %s with INVALID_OPTIONS', async (_name, bad) => {
    const signal = bad as AbortSignal;
    expect(await codeOf(ex.submit('s', item(1), { signal }))).toBe('INVALID_OPTIONS');
    expect(await codeOfCall(() => ex.openStream('f', { rateHz: 1, signal }))).toBe('INVALID_OPTIONS');
    expect(await codeOfCall(() => ex.load({ serviceId: 's' }, { signal }))).toBe('INVALID_OPTIONS');
    expect(await codeOfCall(() => createExecutor({ backend: { kind: 'fake' }, devices: [{ id: 'x' }] }).start({ signal }))).toBe('INVALID_OPTIONS');
  });

  it('a valid signal still aborts, and the executor still serves', async () => {
    expect(await codeOf(ex.submit('s', item(1), { signal: AbortSignal.abort() }))).toBe('ABORTED');
    const out: NamedTensors = await ex.submit('s', item(1), { signal: new AbortController().signal });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([3, 1]);
  });

  it('devices, the profiler, the pipeline and generation engines reject a bad signal with INVALID_OPTIONS', async () => {
    const device = createDevice({ id: 'dev', backend: { kind: 'fake' } });
    try {
      await device.loadModel('m', { bytes: doubler() });
      expect(await codeOf(device.run('m', item(1), { signal: 'stop' as unknown as AbortSignal }))).toBe('INVALID_OPTIONS');
      expect(await codeOf(device.loadModel('m2', { bytes: doubler() }, { signal: {} as AbortSignal }))).toBe('INVALID_OPTIONS');
      expect(await codeOf(profileModel({ model: doubler(), device, inputs: () => item(1), signal: 1 as unknown as AbortSignal }))).toBe('INVALID_OPTIONS');
      const pipeline = createPipelineEngine({ stages: [{ device, model: { bytes: doubler() } }], batchSize: 2 });
      expect(await codeOf(pipeline.submit(item(1), { deadline: Date.now() + 1000, priority: 0, signal: {} as AbortSignal }))).toBe('INVALID_OPTIONS');
      await pipeline.close();
      const lm = createGenerationEngine({ device, model: { bytes: buildTinyCausalLm({ vocab: 16, dModel: 8, layers: 1, heads: 1, maxSeq: 16 }) }, maxBatch: 2, maxSeq: 16 });
      expect(await codeOf(lm.generate({ tokens: [1, 2], maxNewTokens: 2, signal: 'stop' as unknown as AbortSignal }).collect())).toBe('INVALID_OPTIONS');
      await lm.close();
    } finally {
      await device.close();
    }
  });
});
