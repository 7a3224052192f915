import { expect, it } from 'vitest';
import fc from 'fast-check';
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

it('echoes every parameter of any request body with the digits it was sent with (property)', () => {
  const big = fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String);
  const scalar = fc.oneof(big, fc.integer().map(String), fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)), fc.string().map((s) => JSON.stringify(s)), fc.boolean().map(String));
  const key = fc.string({ maxLength: 6 }).map((k) => JSON.stringify(k));
  const space = fc.constantFrom('', ' ', '\n', '\t ');
  // Other members around `parameters`, with nested objects and strings that look like JSON.
  const other = fc.constantFrom('"id":"r"', '"inputs":[{"name":"x","parameters":{"p":18446744073709551615,"q":"}"}}]', '"outputs":[{"name":"y"}]', '"s":"\\"parameters\\":{}"');
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(key, scalar), { selector: ([k]) => JSON.parse(k) as string, maxLength: 6 }), fc.array(other, { maxLength: 3 }), space, (entries, before, ws) => {
      const params = `{${entries.map(([k, v]) => `${ws}${k}${ws}:${ws}${v}${ws}`).join(',')}}`;
      const members = [...before, `"parameters"${ws}:${ws}${params}`, '"inputs":[]'];
      const text = answer(`{${ws}${members.join(`${ws},${ws}`)}${ws}}`);
      const echoed = text.slice(text.indexOf('"parameters":') + 13, text.indexOf(',"outputs":'));
      // Each value comes back as the same number (or string, boolean); integers with their digits exactly.
      const sent = new Map(entries.map(([k, v]) => [JSON.parse(k) as string, v]));
      for (const [k, v] of sent) {
        const back = parametersOf(echoed).get(k);
        if (/^-?\d+$/.test(v)) expect(back).toBe(String(BigInt(v)));
        else expect(JSON.parse(back!)).toEqual(JSON.parse(v));
      }
    }),
    { numRuns: 300 },
  );
});

/** The value texts of a flat JSON object written by the encoder (no whitespace), by key. */
function parametersOf(json: string): Map<string, string> {
  const out = new Map<string, string>();
  const parsed = JSON.parse(json) as Record<string, unknown>;
  let rest = json.slice(1, -1);
  for (const k of Object.keys(parsed)) {
    const head = `${JSON.stringify(k)}:`;
    rest = rest.slice(rest.indexOf(head) + head.length);
    // A value ends at the next `,"` that starts a key, or at the end (values here are scalars).
    const v = JSON.stringify(parsed[k]);
    const end = typeof parsed[k] === 'number' ? rest.search(/,"|$/) : v.length;
    out.set(k, rest.slice(0, end));
    rest = rest.slice(end);
  }
  return out;
}
