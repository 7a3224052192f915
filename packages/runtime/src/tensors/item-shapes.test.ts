import { describe, expect, it } from 'vitest';
import { EparaError, type NamedTensors } from '@epara/core';
import type { InputSpec, IoSpec } from '../executor/io-spec.js';
import { findFreeDimItem, freeDimCandidates, refuseOversizedItem, unsampledFreeInputs } from './item-shapes.js';

const io = (inputs: InputSpec[], stateInputs: InputSpec[] = []): IoSpec => ({
  inputs,
  stateInputs,
  inputAxes: Object.fromEntries([...inputs, ...stateInputs].map((s) => [s.name, s.batchAxis])),
  outputAxes: {},
  outputNames: undefined,
  stateMap: {},
  separability: { kind: 'named' },
  ties: [],
});
const ids: InputSpec = { name: 'input_ids', type: 'int64', dims: [1, null], batchAxis: 0 };
const mask: InputSpec = { name: 'attention_mask', type: 'int64', dims: [1, null], batchAxis: 0 };
const image: InputSpec = { name: 'x', type: 'float32', dims: [1, 3, null, null], batchAxis: 0 };
const fixed: InputSpec = { name: 'f', type: 'float32', dims: [1, 2], batchAxis: 0 };

describe('freeDimCandidates', () => {
  it('gives every free dim of every unsampled input one size (dims named alike agree), zeros then ones for integers', () => {
    const c = freeDimCandidates(io([ids, mask, fixed]), undefined);
    expect(c.map((item) => `${item['input_ids']!.dims.join('x')} ${item['attention_mask']!.dims.join('x')} ${String(item['input_ids']!.data[0])}`)).toEqual([
      '1x1 1x1 0',
      '1x1 1x1 1',
      '1x16 1x16 0',
      '1x16 1x16 1',
      '1x256 1x256 0',
      '1x256 1x256 1',
      '1x1024 1x1024 0',
      '1x1024 1x1024 1',
    ]);
    // An input of fixed shape is zeros of it, whatever the fill of the free ones.
    expect(c.every((item) => item['f']!.dims.join('x') === '1x2' && item['f']!.data.every((v) => v === 0))).toBe(true);
  });

  it('tries float inputs with zeros only, and skips candidates over 4 MiB', () => {
    const c = freeDimCandidates(io([image]), undefined);
    // 3 × 1024 × 1024 floats are 12 MiB: skipped, not allocated.
    expect(c.map((item) => item['x']!.dims.join('x'))).toEqual(['1x3x1x1', '1x3x16x16', '1x3x256x256']);
    const video: InputSpec = { name: 'v', type: 'float32', dims: [1, 3, null, null, null], batchAxis: 0 };
    // 3 × 256³ floats are 192 MiB.
    expect(freeDimCandidates(io([video]), undefined).map((item) => item['v']!.dims.join('x'))).toEqual(['1x3x1x1x1', '1x3x16x16x16']);
  });

  it('keeps what the sample gives and sizes only the rest', () => {
    const given: NamedTensors = { input_ids: { type: 'int64', dims: [1, 5], data: new BigInt64Array(5).fill(3n) } };
    expect(unsampledFreeInputs(io([ids, mask]), given).map((s) => s.name)).toEqual(['attention_mask']);
    const c = freeDimCandidates(io([ids, mask]), given);
    expect(c.every((item) => item['input_ids'] === given['input_ids'])).toBe(true);
    expect(c[0]!['attention_mask']!.dims).toEqual([1, 1]);
  });
});

describe('findFreeDimItem', () => {
  it('returns the first candidate the model runs on, passing over its refusals', async () => {
    const tried: string[] = [];
    const item = await findFreeDimItem(io([ids]), undefined, async (c) => {
      const t = c['input_ids']!;
      tried.push(`${t.dims[1]}:${String(t.data[0])}`);
      if (t.dims[1]! < 16 || t.data[0] === 0n) throw new EparaError('MODEL_ERROR', 'too short, or divides by zero');
    });
    expect(tried).toEqual(['1:0', '1:1', '16:0', '16:1']);
    expect(item['input_ids']!.dims).toEqual([1, 16]);
  });

  it('refuses with INVALID_OPTIONS naming the input and the last error when none runs', async () => {
    const err = await findFreeDimItem(io([image]), undefined, () => Promise.reject(new EparaError('MODEL_ERROR', 'needs exactly 7 rows'))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((err as Error).message).toMatch(/sampleInputs\.x/);
    expect((err as Error).message).toMatch(/'x' \[1, 3, \?, \?\]/);
    expect((err as Error).message).toMatch(/needs exactly 7 rows/);
  });

  it('throws any other failure as it is (the device closed)', async () => {
    const closed = new EparaError('CLOSED', 'device closed');
    await expect(findFreeDimItem(io([ids]), undefined, () => Promise.reject(closed))).rejects.toBe(closed);
  });
});

describe('refuseOversizedItem', () => {
  const huge: InputSpec = { name: 'x', type: 'float32', dims: [1, 1048576, 4096], batchAxis: 0 };
  it('refuses an item whose fixed dims exceed the cap, naming the input and the bytes', () => {
    expect(() => refuseOversizedItem('s', io([huge]), 2 ** 27)).toThrow(/service s: inputs 'x' float32\[1, 1048576, 4096\] hold at least 17179869184 bytes per item, above its maxRequestBytes \(134217728\)/);
    try {
      refuseOversizedItem('s', io([huge]), 2 ** 27);
    } catch (err) {
      expect(err).toMatchObject({ code: 'LOAD_FAILED', details: { serviceId: 's', maxRequestBytes: 2 ** 27 } });
    }
  });

  it('counts the inputs together, free dims as 0, and a state input on its own', () => {
    const half: InputSpec = { name: 'a', type: 'float32', dims: [1, 1024, 1024], batchAxis: 0 };
    expect(() => refuseOversizedItem('s', io([half, { ...half, name: 'b' }]), 2 ** 23)).not.toThrow();
    expect(() => refuseOversizedItem('s', io([half, { ...half, name: 'b' }]), 2 ** 23 - 1)).toThrow(/'a'.*'b'.*8388608 bytes/);
    expect(() => refuseOversizedItem('s', io([{ ...huge, dims: [1, null, 4096] }]), 2 ** 27)).not.toThrow();
    expect(() => refuseOversizedItem('s', io([fixed], [{ ...huge, name: 'state' }]), 2 ** 27)).toThrow(/state input 'state'.*per stream/);
  });

  it('says "about" for sizes beyond 2^53', () => {
    expect(() => refuseOversizedItem('s', io([{ ...huge, dims: [1, 2 ** 40, 2 ** 20] }]), 2 ** 27)).toThrow(/about 4\.61e\+18 bytes/);
  });
});
