import { request } from 'node:http';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { InferResponse } from '../protocol/infer-types.js';
import { encodeOutput } from '../protocol/tensor-codec.js';
import { encodeInferResponse } from './infer-body.js';
import { LARGE_JSON_VALUES, encodeLargeInferResponse, jsonValueCount } from './large-response.js';

/*
 * A response with millions of JSON values used to be one `JSON.stringify` on the event loop: measured on
 * `epara serve` with a 36 M-value output, 43–58 s during which every other request and the mesh's heartbeats
 * stood still (its peers marked it dead). It is now encoded in slices with turns of the event loop between.
 */

function response(values: number): InferResponse {
  const big = new Float32Array(values).map((_, i) => (i % 1000) / 7 - 50);
  big[3] = Number.NaN;
  big[5] = Number.POSITIVE_INFINITY;
  return {
    model: 'm',
    version: '1',
    id: 'r-1',
    parameters: { a: 1, s: 'x' },
    outputs: [
      encodeOutput('big', { type: 'float32', dims: [values], data: big }, false),
      encodeOutput('ids', { type: 'int64', dims: [3], data: new BigInt64Array([1n, -2n, 9007199254740993n]) }, false),
      encodeOutput('raw', { type: 'float32', dims: [2], data: new Float32Array([1.5, 2.5]) }, true),
      encodeOutput('flags', { type: 'bool', dims: [2], data: new Uint8Array([1, 0]) }, false),
      encodeOutput('half', { type: 'float16', dims: [2], data: new Uint16Array([0x3c00, 0xc000]) }, false),
    ],
  };
}

describe('large JSON responses', () => {
  it('are byte-for-byte what the one-shot encoder writes, binary outputs included', async () => {
    const r = response(LARGE_JSON_VALUES * 3 + 17);
    expect(jsonValueCount(r)).toBe(LARGE_JSON_VALUES * 3 + 17 + 3 + 2 + 2);
    const sync = encodeInferResponse(r);
    const sliced = await encodeLargeInferResponse(r, () => false);
    expect(sliced!.headerLength).toBe(sync.headerLength);
    expect(sliced!.body.equals(Buffer.from(sync.body))).toBe(true);
    const json = { ...r, outputs: r.outputs.filter((o) => !o.binary) };
    expect((await encodeLargeInferResponse(json, () => false))!.body.toString()).toBe(encodeInferResponse(json).body);
  });

  it('give the event loop turns while they are encoded, and stop when the client left', async () => {
    const r = response(LARGE_JSON_VALUES * 8);
    let turns = 0;
    let done = false;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await encodeLargeInferResponse(r, () => false);
    done = true;
    expect(turns).toBeGreaterThanOrEqual(4);
    let asked = 0;
    expect(await encodeLargeInferResponse(r, () => ++asked > 1)).toBeUndefined();
  });

  it('reach an HTTP client whole through the gateway', async () => {
    const executor = createFakeExecutor({ services: { echo: { serviceTimeMs: 1 } }, hosted: ['echo'], outputScale: 1 });
    const node = createNode({ id: 'big-1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor, security: { insecure: true }, placement: false });
    await node.start();
    const gateway = createGateway({ node, models: [{ name: 'echo', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] }], http: { port: 0 }, grpc: false });
    const { http } = await gateway.start();
    try {
      const n = LARGE_JSON_VALUES * 2 + 5;
      const x = new Float32Array(n).map((_, i) => i);
      const head = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, n], parameters: { binary_data_size: x.byteLength } }] });
      const body = Buffer.concat([Buffer.from(head), Buffer.from(x.buffer)]);
      const text = await new Promise<string>((resolve, reject) => {
        const req = request(`${http}/v2/models/echo/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(head.length), 'content-length': String(body.length) } }, (res) => {
          let out = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (out += c));
          res.on('end', () => resolve(out));
        });
        req.on('error', reject);
        req.end(body);
      });
      const parsed = JSON.parse(text) as { outputs: { name: string; shape: number[]; data: number[] }[] };
      const out = parsed.outputs.find((o) => o.name === 'x')!;
      expect(out.shape).toEqual([1, n]);
      expect(out.data.length).toBe(n);
      expect(out.data.every((v, i) => v === i)).toBe(true);
    } finally {
      await gateway.close();
      await node.close();
    }
  });
});
