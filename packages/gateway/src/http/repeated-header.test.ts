import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { echoGatewayForFile } from './raw-socket-fixture.js';

/*
 * `Inference-Header-Content-Length` sent twice (a client library and a proxy each adding it, or a client that
 * appends rather than sets headers). node:http joins repeated fields into one list (`n, n`), which read as no
 * integer at all and was a 400. Triton reads the first field line; the field holds one length, so the same value
 * repeated is that value (as RFC 9112 §6.3 reads a repeated identical Content-Length), while different values
 * are a 400 naming them: which one frames the JSON header is not guessed.
 */

const gateway = echoGatewayForFile();

/** Sends `head` (its lines) and `body`, resolves with the answer's status, head and body (by Content-Length). */
function exchange(lines: readonly string[], body: Buffer): Promise<{ status: number; head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (b: Buffer) => {
      got = Buffer.concat([got, b]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.subarray(0, end).toString();
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
      if (length < 0 || got.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status: Number(head.slice(9, 12)), head, body: got.subarray(end + 4, end + 4 + length) });
    });
    socket.write(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);
    socket.write(body);
  });
}

const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }] }));
const body = Buffer.concat([json, Buffer.from(new Float32Array([1.5, -2]).buffer)]);

it('reads the same Inference-Header-Content-Length sent twice, or listed twice on one line, as that length', async () => {
  for (const lines of [[`Inference-Header-Content-Length: ${json.length}`, `inference-header-content-length: ${json.length}`], [`Inference-Header-Content-Length: ${json.length} , ${json.length}`]]) {
    const a = await exchange(lines, body);
    expect(a.status, a.body.toString()).toBe(200);
    expect(JSON.parse(a.body.toString())).toMatchObject({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [1.5, -2] }] });
  }
});

it('refuses different Inference-Header-Content-Length values with a 400 naming them', async () => {
  const a = await exchange([`Inference-Header-Content-Length: ${json.length}`, 'Inference-Header-Content-Length: 0'], body);
  expect(a.status).toBe(400);
  expect(JSON.parse(a.body.toString())).toEqual({ error: `Inference-Header-Content-Length is sent with different values (${json.length}, 0): it gives the length of the one JSON header`, code: 'INVALID_INPUT' });
});
