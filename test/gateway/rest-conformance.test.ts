import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody, classifierConfig, clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Open Inference Protocol v2 over HTTP, against a real `epara serve` process serving the PP-OCR classifier:
 * only HTTP on the wire, JSON and binary tensors, and every malformed request the protocol allows.
 */

let serve: ServeProcess;
const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> => fetch(`${serve.http}${path}`, { method: 'POST', body, headers });
const infer = (body: object, headers: Record<string, string> = {}): Promise<Response> => post('/v2/models/cls/infer', JSON.stringify(body), { 'content-type': 'application/json', ...headers });
const xJson = (n = 1, value = 0.5) => ({ name: 'x', datatype: 'FP32', shape: [n, 3, 48, 192], data: Array.from(clsInput(value, n)) });

beforeAll(async () => {
  serve = await startServe(classifierConfig({ maxBodyBytes: 1024 * 1024, metrics: true }));
}, 90_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe('health and metadata', () => {
  it('answers GET /v2 with the server and its extensions', async () => {
    const res = await fetch(`${serve.http}/v2`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'epara', extensions: expect.arrayContaining(['binary_tensor_data']) });
  });

  it('is live and ready once the model is loaded', async () => {
    expect((await fetch(`${serve.http}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${serve.http}/v2/models/cls/ready`)).status).toBe(200);
    expect((await fetch(`${serve.http}/v2/models/cls/versions/1/ready`)).status).toBe(200);
  });

  it('reports model metadata read from the ONNX file, with versions', async () => {
    for (const path of ['/v2/models/cls', '/v2/models/cls/versions/1']) {
      const res = await fetch(`${serve.http}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        name: 'cls',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }],
        outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [-1, 2] }],
      });
    }
  });

  it('answers 404 for an unknown model or version', async () => {
    expect((await fetch(`${serve.http}/v2/models/nope`)).status).toBe(404);
    expect((await fetch(`${serve.http}/v2/models/cls/versions/7`)).status).toBe(404);
    const res = await infer({ inputs: [xJson()] }).then(() => post('/v2/models/nope/infer', JSON.stringify({ inputs: [xJson()] })));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'UNKNOWN_SERVICE' });
  });
});

describe('inference', () => {
  it('runs JSON tensors, echoes the id and passes parameters through', async () => {
    const res = await infer({ id: 'req-42', parameters: { tag: 'abc', epara_priority: 3 }, inputs: [xJson()] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; model_name: string; parameters: object; outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    expect(body).toMatchObject({ id: 'req-42', model_name: 'cls', model_version: '1', parameters: { tag: 'abc', epara_priority: 3 } });
    const out = body.outputs[0]!;
    expect(out).toMatchObject({ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: [1, 2] });
    expect(out.data[0]! + out.data[1]!).toBeCloseTo(1, 4);
  });

  it('accepts nested JSON data and several items in one request', async () => {
    const flat = Array.from(clsInput(0, 2));
    const nested = [flat.slice(0, flat.length / 2), flat.slice(flat.length / 2)];
    const res = await infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3, 48, 192], data: nested }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { shape: number[]; data: number[] }[] };
    expect(body.outputs[0]!.shape).toEqual([2, 2]);
  });

  it('runs binary tensors both ways and agrees with JSON', async () => {
    const json = (await (await infer({ inputs: [xJson(1, 0.8)] })).json()) as { outputs: { data: number[] }[] };
    const input = clsInput(0.8);
    const { body, headerLength } = binaryBody(
      { id: 'bin-1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: input.byteLength } }], outputs: [{ name: 'softmax_0.tmp_0', parameters: { binary_data: true } }] },
      new Uint8Array(input.buffer),
    );
    const res = await post('/v2/models/cls/infer', body, { 'content-type': 'application/octet-stream', 'Inference-Header-Content-Length': String(headerLength) });
    expect(res.status).toBe(200);
    const hl = Number(res.headers.get('inference-header-content-length'));
    const bytes = Buffer.from(await res.arrayBuffer());
    const head = JSON.parse(bytes.subarray(0, hl).toString()) as { id: string; outputs: { name: string; shape: number[]; parameters: { binary_data_size: number } }[] };
    expect(head.id).toBe('bin-1');
    expect(head.outputs[0]).toMatchObject({ name: 'softmax_0.tmp_0', shape: [1, 2], parameters: { binary_data_size: 8 } });
    const raw = bytes.subarray(hl);
    expect(raw.length).toBe(8);
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 8));
    expect(values[0]).toBeCloseTo(json.outputs[0]!.data[0]!, 5);
    expect(values[1]).toBeCloseTo(json.outputs[0]!.data[1]!, 5);
  });

  it('takes the deadline from the parameter or the header; one that cannot be met is a retryable 503, as Triton answers a timeout', async () => {
    const ok = await infer({ inputs: [xJson()], parameters: { epara_deadline_ms: 5000 } });
    expect(ok.status).toBe(200);
    const tooShort = await infer({ inputs: [xJson()] }, { 'epara-deadline-ms': '0.01' });
    expect([503, 504]).toContain(tooShort.status);
    if (tooShort.status === 503) expect(tooShort.headers.get('retry-after')).toBe('1');
    expect(((await tooShort.json()) as { code: string }).code).toMatch(/DEADLINE_(INFEASIBLE|EXCEEDED)/);
  });
});

describe('malformed requests get a 4xx with a clear message and change nothing', () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['bad JSON', () => post('/v2/models/cls/infer', '{"inputs": [', { 'content-type': 'application/json' }), 400, /not valid JSON/],
    ['a body that is not an object', () => post('/v2/models/cls/infer', '[1,2]', { 'content-type': 'application/json' }), 400, /JSON object/],
    ['no inputs', () => infer({ inputs: [] }), 400, /no inputs/],
    ['an unknown data type', () => infer({ inputs: [{ ...xJson(), datatype: 'FLOAT' }] }), 400, /not a protocol data type/],
    ['the wrong data type', () => infer({ inputs: [{ ...xJson(), datatype: 'INT32', data: new Array(3 * 48 * 192).fill(1) }] }), 400, /must be FP32/],
    ['BYTES whose values are not strings', () => infer({ inputs: [{ ...xJson(), datatype: 'BYTES' }] }), 400, /data\[0\] must be a string \(UTF-8 text\) for BYTES/],
    ['too few elements for the shape', () => infer({ inputs: [{ ...xJson(), data: [1, 2, 3] }] }), 400, /holds 3 elements but its shape needs 27648/],
    ['a shape the model does not take', () => infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 4, 4], data: new Array(48).fill(0) }] }), 400, /expects \[-1,3,48,192\]/],
    ['a negative dimension', () => infer({ inputs: [{ ...xJson(), shape: [-1, 3, 48, 192] }] }), 400, /non-negative integers/],
    ['a string in FP32 data', () => infer({ inputs: [{ ...xJson(), data: ['a', ...new Array(3 * 48 * 192 - 1).fill(0)] }] }), 400, /finite number/],
    ['a missing input', () => infer({ inputs: [{ ...xJson(), name: 'y' }] }), 400, /has no input y/],
    ['an unknown output', () => infer({ inputs: [xJson()], outputs: [{ name: 'nope' }] }), 400, /has no output nope/],
    ['a non-numeric deadline', () => infer({ inputs: [xJson()], parameters: { epara_deadline_ms: 'soon' } }), 400, /epara_deadline_ms/],
    ['a fractional priority header', () => infer({ inputs: [xJson()] }, { 'epara-priority': '1.5' }), 400, /epara_priority/],
    [
      'binary data shorter than binary_data_size claims',
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: 110592 } }] }, new Uint8Array(100));
        return post('/v2/models/cls/infer', body, { 'inference-header-content-length': String(headerLength) });
      },
      400,
      /claims 110592 binary bytes/,
    ],
    [
      'binary data the shape does not account for',
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: 100 } }] }, new Uint8Array(100));
        return post('/v2/models/cls/infer', body, { 'inference-header-content-length': String(headerLength) });
      },
      400,
      /has 100 bytes of data but shape/,
    ],
    [
      'extra binary bytes nobody claims',
      () => {
        const x = clsInput();
        const { body, headerLength } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: x.byteLength } }] }, new Uint8Array(x.buffer), new Uint8Array(7));
        return post('/v2/models/cls/infer', body, { 'inference-header-content-length': String(headerLength) });
      },
      400,
      /7 bytes of binary data no input claims/,
    ],
    ['a header length past the body', () => post('/v2/models/cls/infer', '{"inputs":[]}', { 'inference-header-content-length': '9999' }), 400, /Inference-Header-Content-Length/],
    ['binary_data_size without the header', () => infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] }), 400, /no Inference-Header-Content-Length/],
    ['a body over the configured limit', () => post('/v2/models/cls/infer', Buffer.alloc(2 * 1024 * 1024, 32), { 'content-type': 'application/json' }), 413, /larger than the limit of 1048576 bytes/],
    ['an empty body', () => post('/v2/models/cls/infer', '', { 'content-type': 'application/json' }), 400, /./],
    [
      // Read without recursion: before, nesting this deep overflowed the call stack and was answered 500 INTERNAL.
      'data nested as deep as a shape of 50 000 dimensions',
      () => post('/v2/models/cls/infer', `{"inputs":[{"name":"x","datatype":"FP32","shape":[${new Array(50_000).fill(1).join(',')}],"data":${'['.repeat(50_000)}0.5${']'.repeat(50_000)}}]}`),
      400,
      /input x has shape \[1,1,1.*\] but model cls expects \[-1,3,48,192\]/,
    ],
  ];

  it.each(cases)('%s', async (_name, send, status, message) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(message);
  });

  it('still serves correctly after all of them', async () => {
    const res = await infer({ inputs: [xJson()] });
    expect(res.status).toBe(200);
    expect((await fetch(`${serve.http}/v2/health/ready`)).status).toBe(200);
  });

  it('serves Prometheus metrics on the same port', async () => {
    const res = await fetch(`${serve.http}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/epara_/);
    // HEAD where GET works (curl -I, a load balancer's check): before, only GET was the handler's, and HEAD a 404.
    const head = await fetch(`${serve.http}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
  });
});
