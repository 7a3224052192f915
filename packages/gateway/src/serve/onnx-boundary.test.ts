import { readFileSync } from 'node:fs';
import { createSeededRandom } from '@epara/core';
import { decodeModel, encodeModel } from '@epara/runtime';
import type { OnnxModel, OnnxType } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { randomModel } from '../../../../test/fixtures/differential-models.js';
import { models } from '../../../../test/fixtures/models.js';
import { readOnnxBoundary } from './onnx-boundary.js';

/**
 * What the gateway reads of a model (model-metadata.ts): names and types of the graph's inputs and outputs, the
 * initializers' names. An absent field, an empty list and an unset one read alike there (`?? []`, `?? 0`); the
 * value infos' doc strings and metadata are not read.
 */
function boundary(graph: { input?: unknown; output?: unknown; initializer?: readonly { name?: string }[] }): unknown {
  const plain = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && !(Array.isArray(x) && x.length === 0) && k !== 'docString' && k !== 'metadataProps') out[k] = plain(x);
    return out;
  };
  return { input: plain(graph.input ?? []), output: plain(graph.output ?? []), initializer: (graph.initializer ?? []).map((t) => t.name) };
}

/** Each value info of `m` with its type replaced by `type(name)` where that gives one. */
function retyped(m: OnnxModel, type: (name: string) => OnnxType | undefined): OnnxModel {
  const edit = (v: NonNullable<NonNullable<OnnxModel['graph']>['input']>[number]) => ({ ...v, ...(type(v.name ?? '') ? { type: type(v.name ?? '') } : {}) });
  return { ...m, graph: { ...m.graph!, input: m.graph!.input!.map(edit), output: m.graph!.output!.map(edit) } };
}

describe('readOnnxBoundary: the graph inputs, outputs and initializer names, as decodeModel reads them', () => {
  it('the real models (weights skipped)', () => {
    for (const path of [models.ocrCls, models.ocrDet, models.ocrRec, models.sileroVad]) {
      const bytes = readFileSync(path);
      expect(boundary(readOnnxBoundary(bytes).graph), path).toEqual(boundary(decodeModel(bytes).graph!));
    }
  });

  it('random models: dims named, fixed and open, every carried type, an initializer that is also an input', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const bytes = Buffer.from(randomModel(seed).bytes);
      expect(boundary(readOnnxBoundary(bytes).graph), `seed ${seed}`).toEqual(boundary(decodeModel(bytes).graph!));
    }
  });

  it('values that are no tensor, open ranks, scalars, denotations and dims past 2^53', () => {
    const base = decodeModel(Buffer.from(randomModel(3).bytes));
    const names = [...(base.graph!.input ?? []), ...(base.graph!.output ?? [])].map((v) => v.name!);
    const r = createSeededRandom(7);
    const kinds: ((k: number) => OnnxType)[] = [
      () => ({ sequenceType: { elemType: { mapType: { keyType: 7, valueType: { tensorType: { elemType: 1 } } } } } }),
      () => ({ optionalType: { elemType: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } } } }),
      () => ({ sparseTensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }, { dimValue: 5 }] } } }),
      () => ({ tensorType: { elemType: 16 } }), // bfloat16, no shape: an open rank
      () => ({ tensorType: { elemType: 1, shape: {} } }), // a scalar
      () => ({ tensorType: { elemType: 7, shape: { dim: [{ dimValue: 2n ** 60n as unknown as number, denotation: 'DATA_BATCH' }, { dimParam: 'len', denotation: 'DATA_FEATURE' }] } }, denotation: 'TENSOR' }),
      () => ({ sequenceType: {} }),
      () => ({ mapType: { keyType: 8 } }),
    ];
    for (let round = 0; round < 20; round++) {
      const model = retyped(base, () => (r.next() < 0.6 ? kinds[Math.floor(r.next() * kinds.length)]!(round) : undefined));
      const bytes = Buffer.from(encodeModel(model));
      expect(boundary(readOnnxBoundary(bytes).graph), `round ${round} (${names.join(', ')})`).toEqual(boundary(decodeModel(bytes).graph!));
    }
  });

  it('refuses bytes that are no protobuf message, and a message with no graph, as decodeModel does', () => {
    expect(() => readOnnxBoundary(Buffer.from('this is a text file, not a model\n'))).toThrow(/^not an ONNX model: /);
    expect(() => decodeModel(Buffer.from('this is a text file, not a model\n'))).toThrow(/^not an ONNX model: /);
    expect(() => readOnnxBoundary(Buffer.alloc(0))).toThrow(/^ONNX model has no graph$/);
    const cls = readFileSync(models.ocrCls);
    expect(() => readOnnxBoundary(cls.subarray(0, cls.length - 7))).toThrow(/^not an ONNX model: /); // truncated
    expect(() => readOnnxBoundary(cls.subarray(0, cls.length - 7))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
