import { describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import type { ModelIoInfo } from '../devices/device-port.js';
import { checkDimTies, dimTies } from './dim-ties.js';

const io = (name: string, dims: (number | string)[]): ModelIoInfo => ({ name, type: 'float32', dims });
const t = (...dims: number[]): NamedTensors[string] => ({ type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });

describe('dims the model names alike', () => {
  const inputs = [io('ids', ['batch', 'seq']), io('mask', ['batch', 'seq']), io('square', ['n', 'n']), io('free', ['', '']), io('other', ['batch', 'len'])];
  const ties = dimTies(inputs, (_input, axis, symbol) => axis === 0 && symbol === 'batch');

  it('ties each symbol named twice or more, across inputs and within one; unnamed dims and skipped places tie nothing', () => {
    expect(ties).toEqual([
      { symbol: 'seq', places: [{ input: 'ids', axis: 1 }, { input: 'mask', axis: 1 }] },
      { symbol: 'n', places: [{ input: 'square', axis: 0 }, { input: 'square', axis: 1 }] },
    ]);
  });

  it('passes a request that gives each tie one size, and refuses one that does not, naming the symbol and both places', () => {
    expect(() => checkDimTies(ties, { ids: t(1, 5), mask: t(1, 5), square: t(3, 3), free: t(2, 7), other: t(1, 9) }, 's')).not.toThrow();
    expect(() => checkDimTies(ties, { ids: t(1, 5), mask: t(1, 4) }, 's')).toThrow(/input 'mask' dim 1 is 4, but input 'ids' dim 1 is 5: the model names both 'seq'/);
    expect(() => checkDimTies(ties, { square: t(3, 2) }, 's')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: expect.objectContaining({ symbol: 'n', input: 'square' }) }));
  });

  it('leaves out the places of inputs the request does not carry', () => {
    expect(() => checkDimTies(ties, { ids: t(1, 5) }, 's')).not.toThrow();
  });
});
