import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createGraphBuilder, type Executor } from '@epara/runtime';
import { service, startExecutor } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * An initializer that is also a graph input is a default the caller may override (ONNX IR >= 4). onnxruntime-node
 * feeds only the inputs its session lists, and lists no such initializer: a value sent for it was refused by the
 * executor (INVALID_INPUT), and given to onnxruntime directly it was dropped and the default used. The device now
 * loads such a model with those initializers made plain inputs and feeds their defaults when a request leaves them
 * out, so a request may send one or not.
 */
const withDefault = (() => {
  const g = createGraphBuilder({ name: 'with-default' });
  g.input('x', 'float32', ['N', 2]);
  g.input('bias', 'float32', [2]);
  g.constant('bias', 'float32', [2], [10, 20]);
  g.input('scale', 'int64', []);
  g.constant('scale', 'int64', [], [3]);
  g.node('Mul', [g.op('Add', ['x', 'bias']), g.op('Cast', ['scale'], { to: 1 })], ['y']);
  g.output('y', 'float32', ['N', 2]);
  return g.toBytes();
})();

const x = (a: number, b: number): NamedTensors[string] => ({ type: 'float32', dims: [1, 2], data: new Float32Array([a, b]) });
const bias = (a: number, b: number): NamedTensors[string] => ({ type: 'float32', dims: [2], data: new Float32Array([a, b]) });
const values = (out: NamedTensors): number[] => Array.from(out['y']!.data as Float32Array);

describe('inputs the model gives a default (real onnxruntime-node)', () => {
  let executor: Executor;
  beforeAll(async () => {
    executor = await startExecutor([service('with-default', withDefault, { sampleInputs: { x: x(0, 0) } })]);
  });
  afterAll(async () => {
    await executor?.close();
  });

  it('uses the defaults when a request leaves them out, and the values a request sends otherwise', async () => {
    expect(values(await executor.submit('with-default', { x: x(1, 2) }))).toEqual([33, 66]);
    expect(values(await executor.submit('with-default', { x: x(1, 2), bias: bias(100, 200) }))).toEqual([303, 606]);
    expect(values(await executor.submit('with-default', { x: x(1, 2), scale: { type: 'int64', dims: [], data: new BigInt64Array([1n]) } }))).toEqual([11, 22]);
  });

  it('answers a mix of requests that give a default and leave it, queued together, each with its own values', async () => {
    const items = [1, 2, 3, 4, 5, 6].map((v): NamedTensors => (v % 2 === 0 ? { x: x(v, v), bias: bias(v * 100, 0) } : { x: x(v, v) }));
    const outs = await Promise.all(items.map((it) => executor.submit('with-default', it)));
    outs.forEach((o, i) => {
      const v = i + 1;
      expect(values(o)).toEqual(v % 2 === 0 ? [3 * (v + v * 100), 3 * v] : [3 * (v + 10), 3 * (v + 20)]);
    });
  });

  it('checks a default input a request sends as any other, and still refuses a name the model does not have', async () => {
    const wrongType = (await rejection(executor.submit('with-default', { x: x(1, 2), bias: { type: 'float64', dims: [2], data: new Float64Array([1, 2]) } }))) as { code?: string; message?: string };
    expect(wrongType.code).toBe('INVALID_INPUT');
    expect(wrongType.message).toMatch(/'bias' has dtype float64, expected float32/);
    const wrongShape = (await rejection(executor.submit('with-default', { x: x(1, 2), bias: { type: 'float32', dims: [3], data: new Float32Array(3) } }))) as { code?: string };
    expect(wrongShape.code).toBe('INVALID_INPUT');
    const unknown = (await rejection(executor.submit('with-default', { x: x(1, 2), nope: bias(1, 2) }))) as { code?: string; message?: string };
    expect(unknown.code).toBe('INVALID_INPUT');
    expect(unknown.message).toMatch(/unexpected input 'nope'.*optional: bias, scale/);
  });
});
