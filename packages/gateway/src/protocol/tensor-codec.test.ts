import { describe, expect, it } from 'vitest';
import { parseInferBody, encodeInferResponse } from '../http/infer-body.js';
import { floatToHalf, halfToFloat } from '@epara/core/internal';
import { decodeInput, encodeOutput, outputJsonData } from './tensor-codec.js';

describe('tensor codec', () => {
  it('decodes every carried data type from JSON', () => {
    expect(decodeInput({ name: 'a', datatype: 'INT64', shape: [2], data: [1, '9007199254740993'] }, 0).data).toEqual(new BigInt64Array([1n, 9007199254740993n]));
    expect(decodeInput({ name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] }, 0)).toMatchObject({ type: 'bool', data: new Uint8Array([1, 0]) });
    expect(decodeInput({ name: 'c', datatype: 'INT8', shape: [1, 2], data: [[-3, 4]] }, 0)).toMatchObject({ type: 'int8', dims: [1, 2] });
    expect(decodeInput({ name: 'd', datatype: 'FP16', shape: [1], data: [1.5] }, 0).data).toEqual(new Uint16Array([floatToHalf(1.5)]));
    expect(() => decodeInput({ name: 'e', datatype: 'UINT8', shape: [1], data: [300] }, 0)).toThrow(/does not fit UINT8/);
    expect(() => decodeInput({ name: 'f', datatype: 'FP32', shape: [2], data: [1, 2, 3] }, 0)).toThrow(/more than 2/);
  });

  it('refuses a finite JSON number past the largest FP16 or FP32 (it became infinity in silence); keeps rounding and the spelled infinities', () => {
    for (const [datatype, v] of [['FP16', 70000], ['FP16', -65520], ['FP32', 1e39], ['FP32', -3.5e38]] as const) {
      expect(() => decodeInput({ name: 'h', datatype, shape: [1], data: [v] }, 0), `${datatype} ${v}`).toThrow(`data[0] = ${v} does not fit ${datatype} (largest finite`);
    }
    expect(halfToFloat((decodeInput({ name: 'h', datatype: 'FP16', shape: [3], data: [65504, 65519, 1e-8] }, 0).data as Uint16Array)[1]!)).toBe(65504);
    expect([...(decodeInput({ name: 'h', datatype: 'FP16', shape: [2], data: ['Infinity', 1e-8] }, 0).data as Uint16Array)].map(halfToFloat)).toEqual([Infinity, 0]);
    expect(decodeInput({ name: 'f', datatype: 'FP32', shape: [2], data: [3.4028234663852886e38, '-Infinity'] }, 0).data).toEqual(new Float32Array([3.4028234663852886e38, -Infinity]));
    expect(decodeInput({ name: 'd', datatype: 'FP64', shape: [1], data: [1e300] }, 0).data).toEqual(new Float64Array([1e300]));
  });

  it('decodes INT16, UINT16, UINT32 and UINT64 from JSON and raw bytes, refusing values out of range', () => {
    // These were refused as "not supported by EPARA" although onnxruntime runs them.
    expect(decodeInput({ name: 'a', datatype: 'INT16', shape: [2], data: [-32768, 32767] }, 0)).toMatchObject({ type: 'int16', data: new Int16Array([-32768, 32767]) });
    expect(decodeInput({ name: 'b', datatype: 'UINT16', shape: [1], data: [65535] }, 0)).toMatchObject({ type: 'uint16', data: new Uint16Array([65535]) });
    expect(decodeInput({ name: 'c', datatype: 'UINT32', shape: [1], data: [4294967295] }, 0)).toMatchObject({ type: 'uint32', data: new Uint32Array([4294967295]) });
    expect(decodeInput({ name: 'd', datatype: 'UINT64', shape: [2], data: ['18446744073709551615', 7] }, 0)).toMatchObject({ type: 'uint64', data: new BigUint64Array([18446744073709551615n, 7n]) });
    expect(decodeInput({ name: 'e', datatype: 'UINT32', shape: [1], raw: new Uint8Array([1, 0, 0, 128]) }, 0).data).toEqual(new Uint32Array([2 ** 31 + 1]));
    expect(decodeInput({ name: 'f', datatype: 'INT16', shape: [1], raw: new Uint8Array([0xff, 0xff]) }, 0).data).toEqual(new Int16Array([-1]));
    for (const [datatype, v] of [['INT16', 32768], ['UINT16', -1], ['UINT32', 2 ** 32], ['UINT64', '-1'], ['UINT64', '18446744073709551616']] as const) {
      expect(() => decodeInput({ name: 'x', datatype, shape: [1], data: [v] }, 0), `${datatype} ${v}`).toThrow(new RegExp(`does not fit ${datatype}`));
    }
  });

  it('decodes BYTES as strings from JSON, gRPC bytes_contents and the length-prefixed raw form, and encodes them back', () => {
    const words = ['héllo', '', '日本 🎉'];
    const raw = Buffer.concat(words.flatMap((w) => [Buffer.from(Uint32Array.of(Buffer.byteLength(w)).buffer), Buffer.from(w)]));
    expect(decodeInput({ name: 'j', datatype: 'BYTES', shape: [3], data: words }, 0)).toEqual({ type: 'string', dims: [3], data: words });
    expect(decodeInput({ name: 'g', datatype: 'BYTES', shape: [1, 3], data: words.map((w) => Buffer.from(w)) }, 0)).toEqual({ type: 'string', dims: [1, 3], data: words });
    // At an odd offset of a larger body, as the binary extension slices it.
    const body = Buffer.concat([Buffer.from([9]), raw]).subarray(1);
    expect(decodeInput({ name: 'r', datatype: 'BYTES', shape: [3], raw: body }, 0)).toEqual({ type: 'string', dims: [3], data: words });
    const out = encodeOutput('y', { type: 'string', dims: [3], data: words }, true);
    expect({ datatype: out.datatype, bytes: Buffer.from(out.bytes).toString('hex'), json: outputJsonData(out) }).toEqual({ datatype: 'BYTES', bytes: raw.toString('hex'), json: words });
    expect(encodeInferResponse({ model: 'm', version: '1', parameters: {}, outputs: [encodeOutput('y', { type: 'string', dims: [3], data: words }, false)] }).body.toString()).toContain(`"data":${JSON.stringify(words)}`);
  });

  it('refuses BYTES whose length prefixes do not fit the data, that is not UTF-8, or JSON values that are not strings, with INVALID_INPUT', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
        return undefined;
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    const prefixed = (len: number, bytes: number[]): Uint8Array => new Uint8Array([...new Uint8Array(Uint32Array.of(len).buffer), ...bytes]);
    const cases: [Uint8Array, number, RegExp][] = [
      [prefixed(5, [97, 98]), 1, /length prefix says 5 bytes, only 2 are left/],
      [prefixed(0xffffffff, []), 1, /length prefix says 4294967295 bytes, only 0 are left/],
      [new Uint8Array([1, 0]), 1, /element 0 of 1 has no room for its 4-byte length/],
      [prefixed(1, [97]), 2, /element 1 of 2 has no room/],
      [prefixed(1, [97, 98]), 1, /1 elements use 5 bytes, the data has 6/],
      [prefixed(2, [0xc3, 0x28]), 1, /element 0 is not UTF-8 text/],
    ];
    for (const [raw, n, message] of cases) {
      const f = (): unknown => decodeInput({ name: 's', datatype: 'BYTES', shape: [n], raw }, 0);
      expect(f).toThrow(message);
      expect(code(f)).toBe('INVALID_INPUT');
    }
    expect(() => decodeInput({ name: 's', datatype: 'BYTES', shape: [2], data: ['a', 3] }, 0)).toThrow(/data\[1\] must be a string \(UTF-8 text\) for BYTES/);
    expect(() => decodeInput({ name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.from([0xff])] }, 0)).toThrow(/must be a string/);
  });

  it('answers UINT64 as exact integers in JSON', () => {
    const out = encodeOutput('y', { type: 'uint64', dims: [2], data: new BigUint64Array([18446744073709551615n, 3n]) }, false);
    expect(out.datatype).toBe('UINT64');
    expect(encodeInferResponse({ model: 'm', version: '1', parameters: {}, outputs: [out] }).body.toString()).toContain('"data":[18446744073709551615,3]');
  });

  it("refuses Triton's BF16 saying EPARA does not carry it, not that it is no protocol data type", () => {
    for (const input of [{ name: 'x', datatype: 'BF16', shape: [1], data: [1] }, { name: 'x', datatype: 'BF16', shape: [1], raw: new Uint8Array([0x80, 0x3f]) }]) {
      const err = (() => {
        try {
          decodeInput(input, 0);
        } catch (e) {
          return e as { code: string; message: string };
        }
        throw new Error('BF16 was accepted');
      })();
      expect(err.code).toBe('INVALID_INPUT');
      expect(err.message).toMatch(/BF16 .*not carried by EPARA.*bfloat16/);
    }
    expect(() => decodeInput({ name: 'x', datatype: 'FLOAT', shape: [1], data: [1] }, 0)).toThrow(/"FLOAT" is not a protocol data type/);
  });

  it('round-trips half floats', () => {
    for (const v of [0, 1, -2.5, 65504, 0.000061035156, 1 / 3]) expect(halfToFloat(floatToHalf(v))).toBeCloseTo(v, 3);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes raw little-endian bytes at any offset and checks their length', () => {
    const body = Buffer.alloc(9);
    new DataView(body.buffer, body.byteOffset).setFloat32(1, 2.5, true);
    new DataView(body.buffer, body.byteOffset).setFloat32(5, -1, true);
    expect(decodeInput({ name: 'x', datatype: 'FP32', shape: [2], raw: body.subarray(1) }, 0).data).toEqual(new Float32Array([2.5, -1]));
    expect(() => decodeInput({ name: 'x', datatype: 'FP32', shape: [3], raw: body.subarray(1) }, 0)).toThrow(/8 bytes of data but shape \[3\] of FP32 needs 12/);
  });

  it('encodes outputs as JSON numbers, and binary when asked', () => {
    const out = encodeOutput('y', { type: 'int64', dims: [2], data: new BigInt64Array([5n, -6n]) }, false);
    expect(outputJsonData(out)).toEqual([5, -6]);
    const bin = encodeInferResponse({ model: 'm', version: '1', parameters: {}, outputs: [encodeOutput('z', { type: 'float32', dims: [1], data: new Float32Array([3]) }, true)] });
    expect(bin.headerLength).toBeGreaterThan(0);
    const head = JSON.parse((bin.body as Buffer).subarray(0, bin.headerLength).toString()) as { outputs: { parameters: { binary_data_size: number } }[] };
    expect(head.outputs[0]!.parameters.binary_data_size).toBe(4);
  });

  it('parses the binary extension with several inputs in order', () => {
    const head = Buffer.from(JSON.stringify({ inputs: [
      { name: 'a', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 4 } },
      { name: 'b', datatype: 'FP32', shape: [1], data: [1] },
      { name: 'c', datatype: 'UINT8', shape: [3], parameters: { binary_data_size: 3 } },
    ] }));
    const req = parseInferBody(Buffer.concat([head, Buffer.from([7, 0, 0, 0, 1, 2, 3])]), 'm', undefined, String(head.length));
    expect(req.inputs.map((i) => [i.name, i.raw?.length, i.data])).toEqual([['a', 4, undefined], ['b', undefined, [1]], ['c', 3, undefined]]);
  });

  it('takes data flat, or nested along the shape down to a flat run of the rest, and refuses other nesting', () => {
    const values = new Float32Array([1, 2, 3, 4, 5, 6]);
    for (const data of [[1, 2, 3, 4, 5, 6], [[1, 2, 3], [4, 5, 6]], [[[1], [2], [3]], [[4], [5], [6]]]]) {
      expect(decodeInput({ name: 'a', datatype: 'FP32', shape: [2, 3, 1], data }, 0).data, JSON.stringify(data)).toEqual(values);
    }
    expect(decodeInput({ name: 's', datatype: 'FP32', shape: [], data: [7] }, 0).data).toEqual(new Float32Array([7]));
    // Four values, but rows of 1 and 3: not a [2,2] tensor.
    expect(() => decodeInput({ name: 'a', datatype: 'FP32', shape: [2, 2], data: [[1], [2, 3, 4]] }, 0)).toThrow(/inputs\[0\] \(a\)\.data\[0\] holds 1 values where shape \[2,2\] needs 2/);
    expect(() => decodeInput({ name: 'a', datatype: 'FP32', shape: [1, 2], data: [[1], [2]] }, 0)).toThrow(/data holds 2 values where shape \[1,2\] needs 1/);
    expect(() => decodeInput({ name: 'a', datatype: 'FP32', shape: [3, 2], data: [[1, 2], 3, 4] }, 0)).toThrow(/data\[1\] must be an array like the values beside it/);
    expect(() => decodeInput({ name: 'a', datatype: 'FP32', shape: [2], data: [[1], [2]] }, 0)).toThrow(/data\[0\] is nested deeper than shape \[2\]/);
  });

  it('reads data nested as deep as a shape of many thousand dimensions, and names a fault deep inside it', () => {
    const depth = 100_000;
    const shape = new Array<number>(depth).fill(1);
    const nest = (leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 0; i < depth - 1; i++) v = [v];
      return v;
    };
    expect(decodeInput({ name: 'd', datatype: 'FP32', shape, data: nest([0.5]) }, 0).data).toEqual(new Float32Array([0.5]));
    expect(() => decodeInput({ name: 'd', datatype: 'FP32', shape, data: nest([0.5, 1]) }, 0)).toThrow(/data\[0\]\[0\].* holds 2 values where shape \[1,1,.*\] needs 1/);
    expect(() => decodeInput({ name: 'd', datatype: 'FP32', shape: [2, 2, 2], data: [[[1, 2], [3, 4]], [[5, 6], [7]]] }, 0)).toThrow(/data\[1\]\[1\] holds 1 values where shape \[2,2,2\] needs 2/);
    expect(() => decodeInput({ name: 'd', datatype: 'FP32', shape: [2, 2, 1], data: [[[1], [2]], [[3], 4]] }, 0)).toThrow(/data\[1\]\[1\] must be an array like the values beside it/);
  });

  it('refuses BOOL bytes other than 0 and 1 (onnxruntime reads any other byte as an undefined bool)', () => {
    expect(decodeInput({ name: 'b', datatype: 'BOOL', shape: [2], raw: new Uint8Array([1, 0]) }, 0).data).toEqual(new Uint8Array([1, 0]));
    expect(() => decodeInput({ name: 'b', datatype: 'BOOL', shape: [3], raw: new Uint8Array([1, 0, 2]) }, 0)).toThrow(/inputs\[0\] \(b\) BOOL byte 2 is 2: BOOL data is 0 \(false\) or 1 \(true\)/);
  });

  it('says what is missing when binary tensor data comes without Inference-Header-Content-Length', () => {
    const head = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] });
    const body = Buffer.concat([Buffer.from(head), Buffer.from(new Float32Array([1, 2]).buffer)]);
    expect(() => parseInferBody(body, 'm', undefined, undefined)).toThrow(/not valid JSON: .*; binary tensor data needs the Inference-Header-Content-Length header \(the length of the JSON part, here 91 bytes\)/);
  });
});
