import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * A gRPC client that is not ours: Python's grpcio (Debian's python3-grpcio, python3-protobuf) against `epara serve`,
 * with messages built from the descriptors the server's reflection gives (as grpcurl builds them), no generated
 * code. It sends what the protocol lets a client get wrong (raw and typed contents together, neither, counts
 * and sizes that disagree), every kind of parameter, a deadline it cannot meet, a cancelled call, a stream with a
 * failing request and a stream cancelled mid-inference, and names the repository.
 */

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'python-grpc-client.py');
// Debian's python3-grpcio is for /usr/bin/python3 (another python3 on the PATH may lack it).
const PYTHON = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import grpc, google.protobuf']).status === 0);

type Failure = { ok: false; code: string; details: string; epara: string | null };
let serve: ServeProcess;
let seen: Record<string, unknown>;

beforeAll(async () => {
  if (!PYTHON) return;
  serve = await startServe(classifierConfig({ id: 'edge-grpcio' }));
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, serve.grpc.replace(/^[a-z]+:\/\//, '')], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  seen = JSON.parse(stdout) as Record<string, unknown>;
}, 180_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe.skipIf(!PYTHON)("Python's grpcio as the client", () => {
  it('runs ModelInfer with raw_input_contents and with typed contents, to the same answer', () => {
    const raw = seen['raw'] as { ok: true; id: string; outputs: [string, string, number[]][]; p: number[] };
    expect(raw).toMatchObject({ ok: true, id: 'py', outputs: [['softmax_0.tmp_0', 'FP32', [1, 2]]] });
    expect(raw.p[0]! + raw.p[1]!).toBeCloseTo(1, 5);
    expect((seen['typed'] as { p: number[] }).p).toEqual(raw.p);
  });

  it('refuses raw and typed contents together, neither, and counts or sizes that disagree, INVALID_ARGUMENT naming the fault', () => {
    const refusal = (name: string): Failure => seen[name] as Failure;
    expect(refusal('both')).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT', details: expect.stringContaining('has contents although raw_input_contents is used') });
    expect(refusal('neither')).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT', details: 'inputs[0] (x) carries no data: shape [1,3,48,192] needs 27648 values, in fp32_contents or raw_input_contents' });
    expect(refusal('more_raw_than_inputs')).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', details: 'raw_input_contents has 2 entries but the request has 1 inputs' });
    expect(refusal('short_raw')).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', details: expect.stringMatching(/110588 bytes .* needs 110592/) });
  });

  it('echoes every kind of parameter in the form it was sent, 64-bit values exact', () => {
    expect(seen['parameters']).toEqual({
      u: { kind: 'uint64_param', value: '18446744073709551615' },
      i: { kind: 'int64_param', value: '-9223372036854775807' },
      d: { kind: 'double_param', value: '2.0' },
      s: { kind: 'string_param', value: 'x' },
      b: { kind: 'bool_param', value: 'True' },
    });
  });

  it('ends a call whose deadline cannot be met with a status, and keeps serving after a cancelled call', () => {
    expect(seen['deadline']).toMatchObject({ ok: false, code: expect.stringMatching(/^(DEADLINE_EXCEEDED|UNAVAILABLE)$/) });
    expect(seen['cancelled']).toEqual({ cancelled: true });
    expect(seen['after_cancel']).toBe(true);
  });

  it('answers each request of a ModelStreamInfer stream, a failed one in the stream, each marked final', () => {
    expect(seen['stream']).toEqual([
      ['s1', '', true],
      ['s2', 'unknown model "nope" (UNKNOWN_SERVICE)', true],
      ['s3', '', true],
    ]);
    expect(seen['stream_cancelled']).toEqual({ first: expect.stringMatching(/^c[0-3]$/), ended: 'CANCELLED', after: true });
  });

  it('reads the metadata, and the repository index named after the server; another name is NOT_FOUND', () => {
    expect(seen['metadata']).toEqual({ name: 'cls', inputs: [['x', 'FP32', [-1, 3, 48, 192]]] });
    expect(seen['index_named']).toEqual([['cls', '1', 'READY']]);
    expect(seen['index_other']).toMatchObject({ ok: false, code: 'NOT_FOUND', epara: 'UNKNOWN_SERVICE', details: 'unknown model repository "other": this server has one, "epara"' });
  });
});
