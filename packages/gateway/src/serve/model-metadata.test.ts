import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import type { DimSpec } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { readModelIo } from './model-metadata.js';

const dir = mkdtempSync(join(tmpdir(), 'epara-model-io-'));

/** A model adding every input (of the given dims) to a constant, with one output per input. */
function file(name: string, inputs: Record<string, readonly DimSpec[]>): string {
  const g = createGraphBuilder({ name });
  for (const [input, dims] of Object.entries(inputs)) {
    g.input(input, 'float32', dims);
    g.node('Neg', [input], [`${input}_neg`]);
    g.output(`${input}_neg`, 'float32', dims);
  }
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, g.toBytes());
  return path;
}

const service = { id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, devices: [] } as never;

describe('readModelIo: do the names say every input starts with the same dim?', () => {
  it('yes for one input, or the same symbol first in every input', () => {
    expect(readModelIo(file('one', { x: ['b', 4] }), service).sameFirstDim).toBe(true);
    expect(readModelIo(file('same', { x: ['b', 4], m: ['b', 'len'] }), service).sameFirstDim).toBe(true);
  });

  it('no when the first dims carry different names, or no name', () => {
    expect(readModelIo(file('other', { x: ['b', 4], k: ['n'] }), service).sameFirstDim).toBe(false);
    expect(readModelIo(file('unnamed', { x: ['b', 4], k: ['', 4] }), service).sameFirstDim).toBe(false);
    expect(readModelIo(file('fixed', { x: ['b', 4], k: [2, 4] }), service).sameFirstDim).toBe(false);
  });
});
