import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * A client that is not ours: Python's standard library (http.client, urllib, raw sockets) against `epara
 * serve`, JSON and binary bodies, every refusal a standard client can provoke, and requests node:http cannot
 * even parse. Each answer must be the status of the documented error table with `{ error, code }`.
 */

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python-client.py');
const python = spawnSync('python3', ['--version']).status === 0;

type Brief = { status: number; code: string | null; error: string | null; retryAfter: string | null };
let serve: ServeProcess;
let seen: Record<string, unknown> & { raw: Record<string, { status: number; code: string | null; bodyKeys: string[] | null; connection: string | undefined }> };

beforeAll(async () => {
  if (!python) return;
  serve = await startServe(classifierConfig({ maxBodyBytes: 1024 * 1024 }));
  const { stdout } = await promisify(execFile)('python3', [SCRIPT, serve.http], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  seen = JSON.parse(stdout) as typeof seen;
}, 180_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe.skipIf(!python)("Python's standard library as the client", () => {
  it('reads health and metadata', () => {
    expect(seen['server']).toMatchObject({ name: 'epara', extensions: expect.arrayContaining(['binary_tensor_data']) });
    expect([seen['live'], seen['ready']]).toEqual([200, 200]);
    expect(seen['metadata']).toMatchObject({ name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192] }], outputs: [{ datatype: 'FP32', shape: [-1, 2] }] });
  });

  it("reads Triton's statistics of the requests it sent, and a 404 for an unknown model", () => {
    const stats = seen['stats'] as { status: number; body: { model_stats: { name: string; version: string; inference_count: number; execution_count: number; inference_stats: Record<string, { count: number; ns: number }> }[] } };
    expect(stats.status).toBe(200);
    const [cls] = stats.body.model_stats;
    expect(cls).toMatchObject({ name: 'cls', version: '1' });
    // Its successful inference requests (JSON, binary, the one after the refusals) are counted, and so are those refused.
    expect(cls!.inference_stats['success']!.count).toBeGreaterThanOrEqual(3);
    expect(cls!.inference_stats['fail']!.count).toBeGreaterThan(0);
    expect(cls!.inference_count).toBe(cls!.inference_stats['success']!.count);
    expect(cls!.execution_count).toBeGreaterThanOrEqual(1);
    expect(seen['statsUnknown']).toMatchObject({ status: 404, error: expect.stringMatching(/unknown model/) });
  });

  it('gets the same answer as JSON (nested data, urllib) and as binary tensors (http.client)', () => {
    const json = seen['jsonInfer'] as { status: number; id: string; outputs: { shape: number[]; data: number[] }[] };
    const binary = seen['binaryInfer'] as { status: number; shape: number[]; data: number[]; trailing: number };
    expect(json).toMatchObject({ status: 200, id: 'py-1' });
    expect(json.outputs[0]!.shape).toEqual([1, 2]);
    expect(json.outputs[0]!.data[0]! + json.outputs[0]!.data[1]!).toBeCloseTo(1, 5);
    expect(binary).toMatchObject({ status: 200, shape: [1, 2], trailing: 0 });
    expect(binary.data).toEqual(json.outputs[0]!.data);
    expect((seen['after'] as { data: number[] }).data).toEqual(json.outputs[0]!.data);
  });

  it('is refused with the status and code of the error table, and the retryable ones carry Retry-After', () => {
    const b = (k: string): Brief => seen[k] as Brief;
    const expectations: [string, number, string][] = [
      ['unknownModel', 404, 'UNKNOWN_SERVICE'],
      ['unknownVersion', 404, 'UNKNOWN_SERVICE'],
      ['badJson', 400, 'INVALID_INPUT'],
      ['notObject', 400, 'INVALID_INPUT'],
      ['wrongType', 400, 'INVALID_INPUT'],
      ['bytesType', 400, 'INVALID_INPUT'],
      ['wrongShape', 400, 'INVALID_INPUT'],
      ['shortData', 400, 'INVALID_INPUT'],
      ['badDeadline', 400, 'INVALID_INPUT'],
      ['truncatedBinary', 400, 'INVALID_INPUT'],
      ['extraBinary', 400, 'INVALID_INPUT'],
      ['headerLengthPastBody', 400, 'INVALID_INPUT'],
      ['headerLengthNotNumber', 400, 'INVALID_INPUT'],
      ['oversized', 413, 'INVALID_INPUT'],
      ['badUrl', 400, 'INVALID_INPUT'],
    ];
    for (const [k, status, code] of expectations) {
      expect({ k, status: b(k).status, code: b(k).code, retryAfter: b(k).retryAfter }).toEqual({ k, status, code, retryAfter: null });
      expect(b(k).error, k).toEqual(expect.any(String));
    }
    expect(b('bytesType').error).toMatch(/must be a string \(UTF-8 text\) for BYTES/);
    expect(b('infeasibleDeadline')).toMatchObject({ status: 503, code: 'DEADLINE_INFEASIBLE', retryAfter: '1' });
    expect(seen['urllibError']).toEqual({ status: 400, code: 'INVALID_INPUT' });
  });

  it('meets the edges of the front door as Triton and KServe would answer them, each in its protocol', () => {
    const e = seen['edges'] as Record<string, unknown>;
    // Repeated slashes are not merged (neither Triton nor KServe merges them): a 404 naming the path merged.
    expect(e['repeatedSlashes']).toMatchObject({ status: 404, code: 'NOT_FOUND', error: expect.stringContaining('/v2/health/ready') });
    expect(e['emptyVersion']).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    // Versions are numbers to Triton: 01 is version 1.
    expect(e['versionWithZero']).toBe(200);
    expect(e['connect']).toEqual({ status: 501, code: 'NOT_IMPLEMENTED', bodyKeys: ['code', 'error'], connection: 'close' });
    expect(e['gzipIndex']).toEqual([expect.objectContaining({ name: 'cls', state: 'READY' })]);
    // An HTTP/2 client hears HTTP/2: SETTINGS, then GOAWAY HTTP_1_1_REQUIRED (13) saying what the port speaks.
    expect(e['http2Preface']).toEqual([
      { type: 4, errorCode: null, debug: null },
      { type: 7, errorCode: 13, debug: expect.stringContaining('HTTP/1.1') },
    ]);
  });

  it('gets { error, code } and a closed connection for requests node:http cannot parse', () => {
    // Fastify's own answer used to be `{ error: "Bad Request", message: "Client Error", statusCode: 400 }`, with no code.
    for (const [k, r] of Object.entries(seen.raw)) {
      expect({ k, status: r.status, code: r.code, keys: r.bodyKeys, connection: r.connection }).toEqual({ k, status: k === 'hugeHeader' ? 431 : 400, code: 'INVALID_INPUT', keys: ['code', 'error'], connection: 'close' });
    }
  });
});
