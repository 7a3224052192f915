import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import type { InputSpec, IoSpec } from '../executor/io-spec.js';
import { inputCostScale, profiledItemBytes } from './input-cost.js';

// A request's cost scale is its input bytes over the profiled item's, written here from that rule: the
// service's sample inputs when given, else one item of the model's fixed shapes (4 bytes a float32, 8 an
// int64), unknown with free dims and no sample.
const input = (name: string, dims: (number | null)[], type: InputSpec['type'] = 'float32'): InputSpec => ({ name, type, dims, batchAxis: 0 });
const io = (...inputs: InputSpec[]): IoSpec => ({
  inputs,
  stateInputs: [],
  inputAxes: {},
  outputAxes: {},
  outputNames: undefined,
  stateMap: {},
  separability: { kind: 'named' },
  ties: [],
});
const f32 = (n: number): NamedTensors[string] => ({ type: 'float32', dims: [n], data: new Float32Array(n) });

describe('profiledItemBytes', () => {
  it('is one item of the fixed shapes, every input added, at its element size', () => {
    expect(profiledItemBytes(io(input('x', [1, 3, 4, 4])), undefined)).toBe(3 * 4 * 4 * 4);
    expect(profiledItemBytes(io(input('x', [1, 10]), input('ids', [1, 5], 'int64')), undefined)).toBe(10 * 4 + 5 * 8);
  });

  it('takes the sample inputs over the shapes, and a sample fills a free dim', () => {
    expect(profiledItemBytes(io(input('x', [1, 10])), { x: f32(25) })).toBe(100);
    expect(profiledItemBytes(io(input('x', [1, null]), input('y', [1, 2])), { x: f32(7) })).toBe(7 * 4 + 2 * 4);
  });

  it('is unknown with a free dim and no sample for it, and for an empty interface', () => {
    expect(profiledItemBytes(io(input('x', [1, null])), undefined)).toBeUndefined();
    expect(profiledItemBytes(io(input('x', [1, null]), input('y', [1, 2])), { y: f32(2) })).toBeUndefined();
    expect(profiledItemBytes(io(), undefined)).toBeUndefined();
  });

  it('is computed once per interface: a later call reads the first answer', () => {
    const spec = io(input('x', [1, null]));
    expect(profiledItemBytes(spec, { x: f32(4) })).toBe(16);
    expect(profiledItemBytes(spec, { x: f32(400) })).toBe(16);
    const unknown = io(input('x', [1, null]));
    expect(profiledItemBytes(unknown, undefined)).toBeUndefined();
    expect(profiledItemBytes(unknown, { x: f32(4) })).toBeUndefined();
  });
});

describe('inputCostScale', () => {
  const scale = (spec: IoSpec, inputs: NamedTensors, maxRequestBytes = 1e9, sampleInputs?: NamedTensors): number =>
    inputCostScale({ serviceId: 's', io: spec, inputs, sampleInputs, maxRequestBytes });

  it('is the request bytes over the profiled bytes, never below 1', () => {
    const spec = io(input('x', [1, 10]));
    expect(scale(spec, { x: f32(10) })).toBe(1);
    expect(scale(spec, { x: f32(35) })).toBe(3.5);
    expect(scale(io(input('x', [1, 10])), { x: f32(2) })).toBe(1);
  });

  it('counts only the inputs of the interface (recurrent state and extras are not the request)', () => {
    expect(scale(io(input('x', [1, 10])), { x: f32(20), h: f32(1000) })).toBe(2);
  });

  it('is 1 when the profiled size is unknown', () => {
    expect(scale(io(input('x', [1, null])), { x: f32(1000) })).toBe(1);
  });

  it('accepts a request of exactly the cap and refuses one byte more, naming the sizes', () => {
    const spec = io(input('x', [1, 10]));
    expect(scale(spec, { x: f32(10) }, 40)).toBe(1);
    let caught: unknown;
    try {
      scale(spec, { x: f32(11) }, 40);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'INVALID_INPUT', details: { serviceId: 's', bytes: 44, maxRequestBytes: 40 } });
    expect(String((caught as Error).message)).toContain('44 bytes');
  });
});
