import { expect, it } from 'vitest';
import { parseInferBody } from './infer-body.js';

/*
 * Triton's binary tensor extension: an Inference-Header-Content-Length that cuts the JSON header short is
 * named as the fault, rather than reported as a body that is not JSON (0, a body without a JSON header, is
 * Triton's raw binary request, which the infer route reads against the model: raw-binary-request.ts).
 */

const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], parameters: { binary_data_size: 4 } }] }));
const body = Buffer.concat([json, Buffer.from(new Float32Array([1]).buffer)]);

it('reads the JSON header and the binary data after it', () => {
  const input = parseInferBody(body, 'm', undefined, String(json.length)).inputs[0]!;
  expect(input.name).toBe('x');
  expect(Array.from(input.raw!)).toEqual(Array.from(new Uint8Array(new Float32Array([1]).buffer)));
});

it('names Inference-Header-Content-Length when the length it gives does not end the JSON header', () => {
  for (const length of ['1', String(json.length - 2)]) {
    expect(() => parseInferBody(body, 'm', undefined, length)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(new RegExp(`^the JSON header, the first ${length} bytes of the body as Inference-Header-Content-Length says, is not valid JSON`)) }));
  }
  expect(() => parseInferBody(Buffer.from('{"inputs":'), 'm', undefined, undefined)).toThrow(/^request body is not valid JSON/);
});

it('reads null as absent for the optional fields, as clients that serialize unset fields (pydantic models) send them', () => {
  const r = parseInferBody(Buffer.from(JSON.stringify({ id: null, parameters: null, outputs: null, inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1], parameters: null }] })), 'm', undefined, undefined);
  expect(r).toEqual({ model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] });
  const binary = parseInferBody(body, 'm', undefined, String(json.length));
  const withNullData = Buffer.concat([Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: null, parameters: { binary_data_size: 4 } }] })), Buffer.from(new Float32Array([1]).buffer)]);
  expect(parseInferBody(withNullData, 'm', undefined, String(withNullData.length - 4)).inputs[0]!.raw).toEqual(binary.inputs[0]!.raw);
  // Values that are there must still have their type.
  expect(() => parseInferBody(Buffer.from(JSON.stringify({ id: 7, inputs: [] })), 'm', undefined, undefined)).toThrow(/"id" must be a string/);
});
