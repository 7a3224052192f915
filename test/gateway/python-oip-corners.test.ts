import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody, classifierConfig, clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Corners the Open Inference Protocol allows a stock client: Python's grpcio with the protocol's messages
 * (python-oip-corners.py) — a model version named or unknown, no outputs listed, parameters of every kind on
 * inputs and outputs, Triton's classification extension, BYTES raw contents for an FP32 input, ModelReady for a
 * version the model does not have — and a curl-style REST client with the binary extension on a version path.
 */

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python-oip-corners.py');
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import grpc, google.protobuf']).status === 0);
const OUT = 'softmax_0.tmp_0';

let serve: ServeProcess;
let seen: Record<string, unknown> = {};
beforeAll(async () => {
  serve = await startServe(classifierConfig({ id: 'edge-corners' }));
  if (PYTHON) seen = JSON.parse((await promisify(execFile)(PYTHON, [SCRIPT, serve.grpc.replace(/^[a-z]+:\/\//, '')], { timeout: 120_000 })).stdout) as Record<string, unknown>;
}, 180_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe.skipIf(!PYTHON)('a stock Python gRPC client at the corners of the protocol', () => {
  it('infers on the version it names, and is told NOT_FOUND for one the model does not have', () => {
    expect(seen['version_1']).toEqual({ ok: true, value: [OUT, 'FP32', [1, 2], 2] });
    expect(seen['version_2']).toMatchObject({ ok: false, code: 'NOT_FOUND', epara: 'UNKNOWN_SERVICE', details: 'model cls has no version "2" (versions: 1)' });
  });

  it('answers every output when none is listed, and takes parameters of every kind on inputs and outputs', () => {
    expect(seen['no_outputs_listed']).toEqual({ ok: true, value: [OUT, 'FP32', [1, 2], 2] });
    expect(seen['parameters_everywhere']).toEqual({ ok: true, value: [OUT, 'FP32', [1, 2], 2] });
  });

  it("answers Triton's classification as BYTES \"value:index\"", () => {
    expect(seen['classification']).toEqual({ ok: true, value: ['BYTES', [1], [expect.stringMatching(/^\d\.\d{6}:[01]$/)]] });
  });

  it('refuses BYTES raw contents for an FP32 input, INVALID_ARGUMENT', () => {
    // Read as the BYTES it claims to be first: one element where the shape needs 27648.
    expect(seen['bytes_raw_for_fp32']).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT', details: expect.stringContaining('BYTES data of shape [1,3,48,192]') });
  });

  it('says the model is ready, on its version too; a version it does not have is not ready (as Triton answers)', () => {
    expect(seen['ready']).toEqual({ ok: true, value: true });
    expect(seen['ready_version_1']).toEqual({ ok: true, value: true });
    expect(seen['ready_version_2']).toEqual({ ok: true, value: false });
    expect(seen['metadata_version_1']).toEqual({ ok: true, value: ['cls', ['1']] });
  });
});

describe('a curl-style REST client on a version path', () => {
  it('sends binary tensors with an empty outputs list, and gets every output back', async () => {
    const header = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: 3 * 48 * 192 * 4 } }], outputs: [] };
    const { body, headerLength } = binaryBody(header, new Uint8Array(clsInput().buffer));
    const res = await fetch(`${serve.http}/v2/models/cls/versions/1/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, body });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { model_version: string; outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(json.model_version).toBe('1');
    expect(json.outputs.map((o) => [o.name, o.shape, o.data.length])).toEqual([[OUT, [1, 2], 2]]);
    const wrong = await fetch(`${serve.http}/v2/models/cls/versions/2/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) }, body });
    expect([wrong.status, ((await wrong.json()) as { code: string }).code]).toEqual([404, 'UNKNOWN_SERVICE']);
  });
});
