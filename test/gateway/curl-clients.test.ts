import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody, classifierConfig, clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * curl against `epara serve`, as an operator types it: request parameters past 2^53 echoed with their digits,
 * Inference-Header-Content-Length given twice (`-H` repeated), Triton's repository routes naming the repository,
 * a body over the limit sent as curl sends large uploads (Expect: 100-continue) and chunked, and one connection
 * reused after refusals (curl's connection cache across the URLs of one command).
 */

const hasCurl = spawnSync('curl', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'epara-curl-'));
let serve: ServeProcess;

beforeAll(async () => {
  if (hasCurl) serve = await startServe(classifierConfig({ id: 'edge-curl-clients', maxBodyBytes: 1024 * 1024 }));
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

/** Runs curl (silent, with the status and the connections it opened after the body) and splits its output. */
function curl(...args: string[]): { status: number; body: string; connects: number } {
  const r = spawnSync('curl', ['-s', '-w', '\n%{http_code} %{num_connects}', ...args], { encoding: 'utf8', timeout: 60_000 });
  const cut = r.stdout.lastIndexOf('\n');
  const [status, connects] = r.stdout.slice(cut + 1).split(' ').map(Number);
  return { status: status!, body: r.stdout.slice(0, cut), connects: connects! };
}

/** Writes `data` to a file curl sends with --data-binary @file. */
function file(name: string, data: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return `@${path}`;
}

const xJson = { name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(clsInput()) };

describe.skipIf(!hasCurl)('curl as the client', () => {
  it('gets request parameters past 2^53 back with the digits it sent', () => {
    const body = `{"id":"big","parameters":{"trace_id":18446744073709551615,"seq":-9223372036854775807,"ok":9007199254740993},"inputs":[${JSON.stringify(xJson)}]}`;
    const r = curl('-X', 'POST', '-H', 'content-type: application/json', '--data-binary', file('big.json', body), `${serve.http}/v2/models/cls/infer`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('"parameters":{"trace_id":18446744073709551615,"seq":-9223372036854775807,"ok":9007199254740993}');
  });

  it('sends Inference-Header-Content-Length twice: one value is read, two different ones are a 400', () => {
    const { body, headerLength } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], parameters: { binary_data_size: 110592 } }] }, new Uint8Array(clsInput().buffer));
    const data = file('binary.bin', body);
    const same = curl('-X', 'POST', '-H', `Inference-Header-Content-Length: ${headerLength}`, '-H', `inference-header-content-length: ${headerLength}`, '--data-binary', data, `${serve.http}/v2/models/cls/infer`);
    expect(same.status).toBe(200);
    expect(JSON.parse(same.body)).toMatchObject({ outputs: [{ name: 'softmax_0.tmp_0', shape: [1, 2] }] });
    const different = curl('-X', 'POST', '-H', `Inference-Header-Content-Length: ${headerLength}`, '-H', 'Inference-Header-Content-Length: 12', '--data-binary', data, `${serve.http}/v2/models/cls/infer`);
    expect(different.status).toBe(400);
    expect(JSON.parse(different.body)).toEqual({ code: 'INVALID_INPUT', error: `Inference-Header-Content-Length is sent with different values (${headerLength}, 12): it gives the length of the one JSON header` });
  });

  it("uses Triton's repository routes naming the repository: the server's name is served, another is a 404", () => {
    const named = curl('-X', 'POST', `${serve.http}/v2/repository/epara/index`);
    expect([named.status, JSON.parse(named.body)]).toEqual([200, [{ name: 'cls', version: '1', state: 'READY' }]]);
    const other = curl('-X', 'POST', `${serve.http}/v2/repository/models-b/models/cls/unload`);
    expect([other.status, JSON.parse(other.body)]).toEqual([404, { code: 'UNKNOWN_SERVICE', error: 'unknown model repository "models-b": this server has one, "epara"' }]);
    // The model is still served: the refused unload changed nothing.
    expect(curl(`${serve.http}/v2/models/cls/ready`).status).toBe(200);
  });

  it('gets a 413 for a body over the limit, whether curl waits for 100-continue or sends it chunked', () => {
    const large = file('large.bin', Buffer.alloc(2 * 1024 * 1024, 0x20));
    const declared = curl('-X', 'POST', '-H', 'content-type: application/json', '--data-binary', large, `${serve.http}/v2/models/cls/infer`);
    expect([declared.status, JSON.parse(declared.body)]).toEqual([413, { code: 'INVALID_INPUT', error: 'request body is larger than the limit of 1048576 bytes' }]);
    const chunked = curl('-X', 'POST', '-H', 'transfer-encoding: chunked', '--data-binary', large, `${serve.http}/v2/models/cls/infer`);
    expect([chunked.status, JSON.parse(chunked.body).code]).toEqual([413, 'INVALID_INPUT']);
  });

  it('reuses one connection across refused and answered requests', () => {
    const ok = file('ok.json', JSON.stringify({ inputs: [xJson] }));
    // Three requests on one command line: curl keeps the connection when the server does. (The unknown model is
    // answered from the headers; its body is small, so curl has sent it all by then: curl stops sending a larger body
    // answered early and closes the connection itself.)
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', '-X', 'POST', '--data-binary', '{"inputs":', `${serve.http}/v2/models/cls/infer`, '--next', '-s', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', '-X', 'POST', '--data-binary', '{"inputs":[]}', `${serve.http}/v2/models/nope/infer`, '--next', '-s', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', '-X', 'POST', '--data-binary', ok, `${serve.http}/v2/models/cls/infer`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim().split('\n')).toEqual(['400 1', '404 0', '200 0']);
  });
});
