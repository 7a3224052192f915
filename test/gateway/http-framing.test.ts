import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierConfig, clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * HTTP/1.1 framing a client or a proxy in front of the server may use, written byte for byte on a socket against
 * a real `epara serve`: pipelined requests (answered in order on one connection), a request target in absolute
 * form (which a server must accept, RFC 9112 §3.2.2), a body sent with a transfer coding besides chunked
 * (`Transfer-Encoding: gzip, chunked`, which node:http passes through undecoded), and another method than POST
 * on an infer URL. The last request of each exchange says `Connection: close`, so the answer is complete when
 * the server closes the socket.
 */

let serve: ServeProcess;
let port: number;
beforeAll(async () => {
  serve = await startServe(classifierConfig({ id: 'edge-framing' }));
  port = Number(new URL(serve.http).port);
}, 90_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

/** Writes `bytes` on a new connection and resolves with everything read until the server closes it. */
function exchange(bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // Not end(): a FIN from the client reads as a client gone, whose requests are aborted.
    s.write(bytes);
  });
}

/** Status lines and bodies of the answers in `text`, in order. */
function answers(text: string): { status: number; headers: string; body: string }[] {
  const out: { status: number; headers: string; body: string }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const headers = rest.slice(0, end);
    const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    out.push({ status: Number(headers.slice(9, 12)), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  expect(rest).toBe('');
  return out;
}

const json = (id: string): string => JSON.stringify({ id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: Array.from(clsInput(0.5)) }] });
const post = (target: string, body: string, close = false): string =>
  `POST ${target} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`;

describe('HTTP/1.1 framing from a raw socket', () => {
  it('answers pipelined requests in order on one connection, a refused one in its place', async () => {
    const text = await exchange(
      post('/v2/models/cls/infer', json('p1')) + 'GET /v2/models/cls HTTP/1.1\r\nHost: a\r\n\r\n' + post('/v2/models/nope/infer', '{"inputs":[]}') + post('/v2/models/cls/infer', json('p2'), true),
    );
    const a = answers(text);
    expect(a.map((x) => x.status)).toEqual([200, 200, 404, 200]);
    expect(JSON.parse(a[0]!.body)).toMatchObject({ id: 'p1', outputs: [{ name: 'softmax_0.tmp_0', shape: [1, 2] }] });
    expect(JSON.parse(a[1]!.body)).toMatchObject({ name: 'cls' });
    expect(JSON.parse(a[2]!.body)).toMatchObject({ code: 'UNKNOWN_SERVICE' });
    expect(JSON.parse(a[3]!.body)).toMatchObject({ id: 'p2' });
    expect(JSON.parse(a[3]!.body).outputs).toEqual(JSON.parse(a[0]!.body).outputs);
  });

  it('takes an infer request whose target is in absolute form, as a proxy forwards it', async () => {
    const [a] = answers(await exchange(post(`${serve.http}/v2/models/cls/versions/1/infer`, json('abs'), true)));
    expect(a!.status).toBe(200);
    expect(JSON.parse(a!.body)).toMatchObject({ id: 'abs', model_version: '1' });
  });

  it('undoes a gzip transfer coding beside chunked, and refuses one it does not know with 501', async () => {
    const gz = gzipSync(json('te'));
    const chunked = (te: string): Buffer =>
      Buffer.concat([Buffer.from(`POST /v2/models/cls/infer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\nConnection: close\r\n\r\n${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n0\r\n\r\n')]);
    const [ok] = answers(await exchange(chunked('gzip, chunked')));
    expect(ok!.status).toBe(200);
    expect(JSON.parse(ok!.body)).toMatchObject({ id: 'te', outputs: [{ shape: [1, 2] }] });
    const [unknown] = answers(await exchange(chunked('br, chunked')));
    expect(unknown!.status).toBe(501);
    expect(JSON.parse(unknown!.body)).toEqual({ error: 'Transfer-Encoding "br" is not supported (supported: gzip, deflate, identity, chunked)', code: 'INVALID_INPUT' });
  });

  it('answers another method than POST on an infer URL 405 with Allow: POST, OPTIONS', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const [a] = answers(await exchange(`${method} /v2/models/cls/infer HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      expect([method, a!.status]).toEqual([method, 405]);
      expect(a!.headers).toMatch(/\r\nallow: POST, OPTIONS\r\n/i);
      expect(JSON.parse(a!.body)).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    }
  });
});
