import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { echoGatewayForFile } from './raw-socket-fixture.js';

/*
 * Answers node:http writes by itself (an expectation it does not meet, a request without Host) came with an
 * empty body; like every other refusal they carry the protocol's `{ error, code }`.
 */

const gateway = echoGatewayForFile();

/** Sends `bytes` and resolves with the first answer (status, headers, body by its Content-Length). */
function firstAnswer(bytes: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1');
    let got = '';
    socket.on('error', reject);
    socket.on('data', (b: Buffer) => {
      got += b.toString();
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.slice(0, end);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
      if (length < 0 || got.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status: Number(head.slice(9, 12)), head, body: got.slice(end + 4, end + 4 + length) });
    });
    socket.write(bytes);
  });
}

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

it('answers an expectation other than 100-continue 417 in the protocol\'s error form', async () => {
  const a = await firstAnswer(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  expect(a.status).toBe(417);
  expect(JSON.parse(a.body)).toEqual({ error: 'Expect "200-ok" is not supported (only 100-continue)', code: 'INVALID_INPUT' });
});

it('answers an HTTP/1.1 request without Host 400 in the protocol\'s error form, and closes', async () => {
  const a = await firstAnswer('GET /v2/health/ready HTTP/1.1\r\n\r\n');
  expect(a.status).toBe(400);
  expect(a.head).toMatch(/\r\nconnection: close/i);
  expect(JSON.parse(a.body)).toEqual({ error: 'an HTTP/1.1 request needs a Host header', code: 'INVALID_INPUT' });
  // HTTP/1.0 has no Host requirement.
  expect((await firstAnswer('GET /v2/health/ready HTTP/1.0\r\n\r\n')).status).toBe(200);
});
