import { expect, it } from 'vitest';
import { encodeInferResponse, parseInferBody } from './infer-body.js';
import type { InferResponse } from '../protocol/infer-types.js';

/*
 * The request's `parameters` come back in the answer. A JSON number is read as a double, so an integer past 2^53
 * (a trace id, a uint64 sequence number) would come back as another number: the answer writes each such value
 * with the digits the request sent, as gRPC echoes an int64_param or uint64_param exactly.
 */

const answer = (body: string): string => {
  const request = parseInferBody(Buffer.from(body), 'm', undefined, undefined);
  const response: InferResponse = { model: 'm', version: '1', parameters: request.parameters ?? {}, outputs: [] };
  return encodeInferResponse({ ...response, parameterText: request.parameterText }).body.toString();
};

it('echoes integers past 2^53 with the digits they were sent with, and the other values as they are', () => {
  const sent = '{"parameters":{"trace":18446744073709551615,"neg":-9223372036854775807,"safe":9007199254740991,"f":0.5,"s":"x","b":true,"huge":123456789012345678901234567890},"inputs":[]}';
  const text = answer(sent);
  expect(text).toBe('{"model_name":"m","model_version":"1","parameters":{"trace":18446744073709551615,"neg":-9223372036854775807,"safe":9007199254740991,"f":0.5,"s":"x","b":true,"huge":123456789012345678901234567890},"outputs":[]}');
});

it('reads the parameters of the top-level object only, the last of a repeated key, and keys with escapes', () => {
  const sent = '{"inputs":[{"name":"x","parameters":{"p":18446744073709551615}}],"outputs":[{"name":"y","parameters":{"q":1}}],"parameters":{"p":1,"p":18446744073709551614,"k\\u00e9y":-18446744073709551614, "spaced" : 36028797018963969 },"id":"r"}';
  const text = answer(sent);
  expect(text).toContain('"parameters":{"p":18446744073709551614,"kéy":-18446744073709551614,"spaced":36028797018963969}');
});

it('writes a value the request did not send as it is (a value changed after parsing is not replaced by the sent digits)', () => {
  const request = parseInferBody(Buffer.from('{"parameters":{"n":18446744073709551615},"inputs":[]}'), 'm', undefined, undefined);
  const text = encodeInferResponse({ model: 'm', version: '1', parameters: { n: 5 }, outputs: [], parameterText: request.parameterText }).body.toString();
  expect(text).toContain('"parameters":{"n":5}');
});

it('keeps the exact digits in a binary body too (the JSON header is followed by binary data)', () => {
  const json = Buffer.from('{"parameters":{"n":18446744073709551615},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}');
  const request = parseInferBody(Buffer.concat([json, Buffer.alloc(4)]), 'm', undefined, String(json.length));
  const text = encodeInferResponse({ model: 'm', version: '1', parameters: request.parameters ?? {}, outputs: [], parameterText: request.parameterText }).body.toString();
  expect(text).toContain('"parameters":{"n":18446744073709551615}');
});
