import type { ClusterView } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { resolveGatewayOptions } from '../gateway-options.js';
import type { GatewayModel, ResolvedGatewayModel } from '../gateway-options.js';
import { isRawBinaryRequest, rawBinaryRequest } from './raw-binary-request.js';

/*
 * Triton's raw binary request (Inference-Header-Content-Length: 0): the body is the data of the model's only
 * input, its shape deduced from the body's size; anything that leaves the shape open is a 400 naming why.
 */

function model(m: Partial<GatewayModel> & Pick<GatewayModel, 'inputs'>): ResolvedGatewayModel {
  const o = resolveGatewayOptions({ node: { id: 'n', view: () => ({ entries: {} }) as unknown as ClusterView, submit: () => Promise.resolve({}) }, models: [{ name: 'm', outputs: [], ...m }], http: false, grpc: false });
  return o.models.get('m')!;
}
const bytes = (n: number): Buffer => Buffer.alloc(n, 1);

describe('raw binary request', () => {
  it('is announced by a header length of 0 only', () => {
    expect(['0', ' 0 ', '00'].map(isRawBinaryRequest)).toEqual([true, true, true]);
    expect([undefined, '', '1', '10', '-0'].map(isRawBinaryRequest)).toEqual([false, false, false, false, false]);
  });

  it('deduces the one free dimension from the size, and asks for every output in binary form', () => {
    const r = rawBinaryRequest(model({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 2] }] }), bytes(2 * 3 * 2 * 4), '1');
    expect(r).toMatchObject({ model: 'm', version: '1', parameters: { binary_data_output: true }, inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3, 2] }] });
    expect(r.inputs[0]!.raw!.byteLength).toBe(48);
    // A fixed shape takes exactly its size; a batch dim beside another free dim is a batch of one.
    expect(rawBinaryRequest(model({ inputs: [{ name: 'x', datatype: 'INT16', shape: [2, 2] }] }), bytes(8), undefined).inputs[0]!.shape).toEqual([2, 2]);
    expect(rawBinaryRequest(model({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }], splitItems: true }), bytes(20), undefined).inputs[0]!.shape).toEqual([1, 5]);
  });

  it('takes the body as the one element of a BYTES input, length-prefixed as the binary form carries it', () => {
    const r = rawBinaryRequest(model({ inputs: [{ name: 's', datatype: 'BYTES', shape: [-1, 1] }], splitItems: true }), Buffer.from('héllo'), undefined);
    expect(r.inputs[0]!.shape).toEqual([1, 1]);
    expect(Buffer.from(r.inputs[0]!.raw!)).toEqual(Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from('héllo')]));
    expect(() => rawBinaryRequest(model({ inputs: [{ name: 's', datatype: 'BYTES', shape: [-1, 2] }], splitItems: true }), Buffer.from('a'), undefined)).toThrow(/BYTES input s needs the input to hold one element/);
  });

  it('refuses what leaves the shape open, or a size the input does not divide', () => {
    const refused = [
      [model({ inputs: [{ name: 'a', datatype: 'FP32', shape: [-1] }, { name: 'b', datatype: 'FP32', shape: [-1] }] }), 8, /model m has 2 inputs/],
      [model({ inputs: [] }), 8, /model m has no input metadata/],
      [model({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }], splitItems: false }), 8, /shape of input x \(FP32 \[-1,-1\]\) cannot be deduced/],
      [model({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], anyRank: true }] }), 8, /any rank\) cannot be deduced/],
      [model({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }] }), 16, /16 bytes does not fill input x \(FP32 \[-1,3\]\): it takes a multiple of 12 bytes/],
      [model({ inputs: [{ name: 'x', datatype: 'UINT8', shape: [4] }] }), 5, /it takes exactly 4 bytes/],
    ] as const;
    for (const [m, n, message] of refused) {
      expect(() => rawBinaryRequest(m, bytes(n), undefined)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(message) }));
    }
  });
});
