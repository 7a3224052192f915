import { describe, expect, it } from 'vitest';
import { EparaError, type NamedTensors } from '@epara/core';
import type { InputSpec, IoSpec } from '../executor/io-spec.js';
import { findSampleItem, needsSampleSearch, refuseOversizedItem, sampleCandidates, unsampledFreeInputs } from './item-shapes.js';

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

const items = (io: IoSpec, sample: NamedTensors | undefined): NamedTensors[] => sampleCandidates(io, sample).map((c) => c.item);

describe('sampleCandidates', () => {
  it('gives every free dim of every unsampled input one size (dims named alike agree), zeros then ones for integers', () => {
    const c = items(io([ids, mask, fixed]), undefined);
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
    const c = items(io([image]), undefined);
    // 3 × 1024 × 1024 floats are 12 MiB: skipped, not allocated.
    expect(c.map((item) => item['x']!.dims.join('x'))).toEqual(['1x3x1x1', '1x3x16x16', '1x3x256x256']);
    const video: InputSpec = { name: 'v', type: 'float32', dims: [1, 3, null, null, null], batchAxis: 0 };
    // 3 × 256³ floats are 192 MiB.
    expect(items(io([video]), undefined).map((item) => item['v']!.dims.join('x'))).toEqual(['1x3x1x1x1', '1x3x16x16x16']);
  });

  it('keeps what the sample gives and sizes only the rest', () => {
    const given: NamedTensors = { input_ids: { type: 'int64', dims: [1, 5], data: new BigInt64Array(5).fill(3n) } };
    expect(unsampledFreeInputs(io([ids, mask]), given).map((s) => s.name)).toEqual(['attention_mask']);
    const c = items(io([ids, mask]), given);
    expect(c.every((item) => item['input_ids'] === given['input_ids'])).toBe(true);
    expect(c[0]!['attention_mask']!.dims).toEqual([1, 1]);
  });
});

describe('findSampleItem', () => {
  it('returns the first candidate the model runs on, passing over its refusals', async () => {
    const tried: string[] = [];
    const { item, refused } = await findSampleItem(io([ids]), undefined, async (c) => {
      const t = c['input_ids']!;
      tried.push(`${t.dims[1]}:${String(t.data[0])}`);
      if (t.dims[1]! < 16 || t.data[0] === 0n) throw new EparaError('MODEL_ERROR', 'too short, or divides by zero');
    });
    expect(tried).toEqual(['1:0', '1:1', '16:0', '16:1']);
    expect(item['input_ids']!.dims).toEqual([1, 16]);
    // The first one's refusal comes back, for the load's log line.
    expect(refused?.first['input_ids']!.dims).toEqual([1, 1]);
    expect(refused?.message).toBe('too short, or divides by zero');
  });

  it('refuses with INVALID_OPTIONS naming the input and the last error when none runs', async () => {
    const err = await findSampleItem(io([image]), undefined, () => Promise.reject(new EparaError('MODEL_ERROR', 'needs exactly 7 rows'))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((err as Error).message).toMatch(/sampleInputs\.x/);
    expect((err as Error).message).toMatch(/'x' \[1, 3, \?, \?\]/);
    expect((err as Error).message).toMatch(/needs exactly 7 rows/);
    expect(err).toMatchObject({ details: { field: 'sampleInputs.x', sample: 'x [1,3,1,1]' } });
  });

  it('throws any other failure as it is (the device closed)', async () => {
    const closed = new EparaError('CLOSED', 'device closed');
    await expect(findSampleItem(io([ids]), undefined, () => Promise.reject(closed))).rejects.toBe(closed);
  });
});

describe('the search over integer inputs of fixed shape, and a batch hidden in a shared input', () => {
  const a: InputSpec = { name: 'a', type: 'int64', dims: [1, 2], batchAxis: 0 };
  const len: InputSpec = { name: 'len', type: 'int32', dims: [1], batchAxis: null };

  it('searches when an integer input is not given, fixed or not, and not when the sample gives every such input', () => {
    expect(needsSampleSearch(io([fixed]), undefined)).toBe(false);
    expect(needsSampleSearch(io([fixed, a]), undefined)).toBe(true);
    expect(needsSampleSearch(io([fixed, a]), { a: { type: 'int64', dims: [1, 2], data: new BigInt64Array(2) } })).toBe(false);
  });

  it('tries fixed shapes at one size only: zeros, then ones in every integer input (a fixed float stays zeros)', () => {
    const c = sampleCandidates(io([fixed, a, len]), undefined);
    expect(c.map((x) => `${x.ones} ${String(x.item['a']!.data[0])} ${String(x.item['len']!.data[0])} ${String(x.item['f']!.data[0])}`)).toEqual(['false 0 0 0', 'true 1 1 0']);
  });

  it("refuses MODEL_ERROR, the model's refusal of zeros, when every dim is fixed and ones fail too", async () => {
    let n = 0;
    const err = await findSampleItem(io([a]), undefined, () => Promise.reject(new EparaError('MODEL_ERROR', `refusal ${++n}`))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_ERROR', details: { field: 'sampleInputs.a', sample: 'a [1,2]' } });
    expect((err as Error).message).toMatch(/^refusal 1 \(on the load-time sample, zeros shaped a \[1,2\], and with ones in a: refusal 2\)$/);
  });

  it('first holds an unnamed free dim of an input shared by the batch at 1, when the model batches elsewhere', () => {
    // Silero VAD with every free dim unnamed: input [?, ?] (batch guessed at 0), state [2, ?, 128] shared.
    const input: InputSpec = { name: 'input', type: 'float32', dims: [1, null], batchAxis: 0 };
    const state: InputSpec = { name: 'state', type: 'float32', dims: [2, null, 128], batchAxis: null };
    const shapes = items(io([input, state]), undefined).map((x) => `${x['input']!.dims.join('x')} ${x['state']!.dims.join('x')}`);
    expect(shapes).toEqual(['1x1 2x1x128', '1x16 2x1x128', '1x16 2x16x128', '1x256 2x1x128', '1x256 2x256x128', '1x1024 2x1x128', '1x1024 2x1024x128']);
    // No batch anywhere: nothing to hold (a [seq, 80] input is sized).
    expect(items(io([{ ...state, name: 'x' }]), undefined).map((x) => x['x']!.dims[1])).toEqual([1, 16, 256, 1024]);
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
