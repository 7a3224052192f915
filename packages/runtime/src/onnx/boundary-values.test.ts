import { describe, expect, it } from 'vitest';
import { declaredBoundary } from './boundary-values.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { createGraphBuilder } from './graph-builder.js';

describe('the boundary a graph declares', () => {
  it('tells scalars from open ranks, and each non-tensor kind, after a round trip through the file', () => {
    const g = createGraphBuilder({ name: 'boundary' });
    g.input('scalar', 'float32', []);
    g.input('open', 'float32', []);
    g.input('seq', 'float32', []);
    g.output('m', 'float32', []);
    g.output('opt', 'float32', []);
    g.output('y', 'int64', ['N', null, 3]);
    const m = g.toModel();
    const [, open, seq] = m.graph!.input!;
    delete open!.type!.tensorType!.shape;
    seq!.type = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
    const [map, opt] = m.graph!.output!;
    map!.type = { mapType: { keyType: 7, valueType: { tensorType: { elemType: 1 } } } };
    opt!.type = { optionalType: { elemType: { tensorType: { elemType: 1 } } } };
    const b = declaredBoundary(decodeModel(encodeModel(m)));
    expect(Object.fromEntries(b.inputs)).toEqual({ scalar: { kind: 'tensor', rank: 0 }, open: { kind: 'tensor', rank: undefined }, seq: { kind: 'sequence', rank: undefined } });
    expect(Object.fromEntries(b.outputs)).toEqual({ m: { kind: 'map', rank: undefined }, opt: { kind: 'optional', rank: undefined }, y: { kind: 'tensor', rank: 3 } });
  });
});
