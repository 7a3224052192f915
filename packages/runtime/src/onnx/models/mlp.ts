import { invalidOption } from '@epara/core';
import { createGraphBuilder } from '../graph-builder.js';

/** Options of {@link buildMlp}. */
export interface MlpOptions {
  /** Features per item. */
  readonly inputSize: number;
  /** Width of each hidden layer (MatMul + Add + Relu), in order. */
  readonly hidden: readonly number[];
  /** Width of the output layer (no activation). */
  readonly outputs: number;
  /** Weight seed. @default 0 */
  readonly seed?: number;
}

/**
 * A deterministic multi-layer perceptron: `x f32[batch, inputSize]` → `y f32[batch, outputs]`. The hidden
 * layer outputs are named `h0`, `h1`, … so the model can be split between layers (see `splitModel`).
 *
 * @throws EparaError `INVALID_OPTIONS` for a non-positive size.
 * @example
 * ```ts
 * const bytes = buildMlp({ inputSize: 64, hidden: [128, 128], outputs: 10, seed: 1 });
 * ```
 */
export function buildMlp(options: MlpOptions): Uint8Array {
  const { inputSize, hidden, outputs, seed = 0 } = options;
  checkPositive('inputSize', inputSize);
  checkPositive('outputs', outputs);
  if (!Array.isArray(hidden)) invalidOption('hidden', hidden, 'an array of positive integers');
  hidden.forEach((h, i) => checkPositive(`hidden[${i}]`, h));
  const g = createGraphBuilder({ name: 'mlp', seed });
  let x = g.input('x', 'float32', ['batch', inputSize]);
  let width = inputSize;
  hidden.forEach((h, i) => {
    const w = g.weight(`w${i}`, [width, h], Math.sqrt(2 / width));
    const b = g.weight(`b${i}`, [h], 0.01);
    x = g.node('Relu', [g.op('Add', [g.op('MatMul', [x, w]), b])], [`h${i}`])[0]!;
    width = h;
  });
  const w = g.weight('w_out', [width, outputs], Math.sqrt(1 / width));
  g.node('Add', [g.op('MatMul', [x, w]), g.weight('b_out', [outputs], 0.01)], ['y']);
  g.output('y', 'float32', ['batch', outputs]);
  return g.toBytes();
}

/** Throws `INVALID_OPTIONS` unless `value` is a positive integer. */
export function checkPositive(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) invalidOption(field, value, 'a positive integer');
}
