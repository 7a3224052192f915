import { connect } from 'node:net';
import { request, Agent } from 'node:http';
import type { ClusterView, NamedTensors } from '@epara/core';
import { it, beforeAll, afterAll } from 'vitest';
import { createGateway, type Gateway } from '../gateway.js';

let gateway: Gateway; let port = 0;
beforeAll(async () => {
  const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: async (_s: string, inputs: NamedTensors): Promise<NamedTensors> => ({ y: inputs['x']!, z: inputs['x']! }) };
  gateway = createGateway({ node, isModelReady: () => true, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }, { name: 'z', datatype: 'FP32', shape: [-1, 2] }] }, { name: 's', inputs: [{ name: 'x', datatype: 'BYTES', shape: [-1] }], outputs: [{ name: 'y', datatype: 'BYTES', shape: [-1] }] }], http: { port: 0 }, grpc: false, maxBodyBytes: 4096 });
  port = Number(new URL((await gateway.start()).http!).port);
});
afterAll(() => gateway?.close());

function raw(bytes: Buffer | string, waitMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1'); let got = Buffer.alloc(0);
    s.on('data', (b) => (got = Buffer.concat([got, b]))); s.on('error', (e) => resolve('ERR ' + e.message + ' ' + got.toString('latin1')));
    s.on('close', () => resolve(got.toString('latin1')));
    s.write(bytes); setTimeout(() => s.destroy(), waitMs);
  });
}
const req = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${port}${path}`, init).then(async (r) => `${r.status} ${JSON.stringify([...r.headers])} ${Buffer.from(await r.arrayBuffer()).toString('latin1')}`);

it('probe', async () => {
  const out: string[] = [];
  const log = (k: string, v: string) => out.push(`## ${k}\n${v}`);
  const json = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'z' }] });
  log('mixed', await req('/v2/models/m/infer', { method: 'POST', body: json }));
  log('mixed binary_data_output', await req('/v2/models/m/infer', { method: 'POST', body: JSON.stringify({ parameters: { binary_data_output: true }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], outputs: [{ name: 'z', parameters: { binary_data: false } }] }) }));
  log('no outputs binary_data_output', await req('/v2/models/m/infer', { method: 'POST', body: JSON.stringify({ parameters: { binary_data_output: true }, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }) }));
  log('HEAD infer', await raw('HEAD /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('HEAD ready', await raw('HEAD /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('HEAD unknown', await raw('HEAD /v2/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('OPTIONS infer', await raw('OPTIONS /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('OPTIONS star', await raw('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('HEAD metadata', await raw('HEAD /v2/models/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  log('HEAD stats', await raw('HEAD /v2/models/m/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  // keep-alive after errors: bad json then good
  const good = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
  log('keepalive after 400', await raw(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${good.length}\r\nConnection: close\r\n\r\n${good}`));
  log('keepalive after 404', await raw(`POST /v2/models/nope/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${good.length}\r\nConnection: close\r\n\r\n${good}`));
  const big = 'x'.repeat(5000);
  log('keepalive after 413', await raw(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${good.length}\r\nConnection: close\r\n\r\n${good}`, 1000));
  log('keepalive after 413 chunked', await raw(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\nPOST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: ${good.length}\r\nConnection: close\r\n\r\n${good}`, 1000));
  log('keepalive 413 repository', await raw(`POST /v2/repository/index HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 1000));
  log('ctype text/plain', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'content-type': 'text/plain' } }));
  log('ctype multipart', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'content-type': 'multipart/form-data; boundary=x' } }));
  log('ctype form on index', await req('/v2/repository/index', { method: 'POST', body: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
  // BYTES binary
  const el = Buffer.from('héllo'); const pre = Buffer.alloc(4); pre.writeUInt32LE(el.length);
  const bh = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 4 + el.length } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  log('bytes binary', await req('/v2/models/s/infer', { method: 'POST', body: Buffer.concat([bh, pre, el]), headers: { 'inference-header-content-length': String(bh.length) } }));
  const bh0 = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 4 } }] }));
  log('bytes empty string binary', await req('/v2/models/s/infer', { method: 'POST', body: Buffer.concat([bh0, Buffer.alloc(4)]), headers: { 'inference-header-content-length': String(bh0.length) } }));
  log('bytes empty string json', await req('/v2/models/s/infer', { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [2], data: ['', 'a'] }] }) }));
  const bz = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 2], parameters: { binary_data_size: 0 } }] }));
  log('zero binary', await req('/v2/models/m/infer', { method: 'POST', body: bz, headers: { 'inference-header-content-length': String(bz.length) } }));
  const bm = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 4 } }] }));
  log('size mismatch', await req('/v2/models/m/infer', { method: 'POST', body: Buffer.concat([bm, Buffer.alloc(4)]), headers: { 'inference-header-content-length': String(bm.length) } }));
  log('binary_data_size string', await req('/v2/models/m/infer', { method: 'POST', body: Buffer.concat([Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: '8' } }] })), Buffer.alloc(8)]), headers: { 'inference-header-content-length': String(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: '8' } }] }).length) } }));
  log('binary_data_size on output', await req('/v2/models/m/infer', { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], outputs: [{ name: 'y', parameters: { binary_data_size: 8 } }] }) }));
  log('IHCL with json body only', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'inference-header-content-length': String(good.length) } }));
  log('IHCL negative', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'inference-header-content-length': '-1' } }));
  log('IHCL +5', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'inference-header-content-length': '+5' } }));
  log('IHCL empty', await raw(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nInference-Header-Content-Length:\r\nContent-Length: ${good.length}\r\nConnection: close\r\n\r\n${good}`));
  log('binary output of BYTES json', await req('/v2/models/s/infer', { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [2], data: ['ab', 'c'] }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }) }));
  log('expect 100 then 413', await raw(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n`));
  log('http1.0 keepalive', await raw(`POST /v2/models/m/infer HTTP/1.0\r\nContent-Length: ${good.length}\r\n\r\n${good}`));
  log('charset latin1', await req('/v2/models/m/infer', { method: 'POST', body: good, headers: { 'content-type': 'application/json; charset=iso-8859-1' } }));
  log('BOM', await req('/v2/models/m/infer', { method: 'POST', body: '\ufeff' + good, headers: { 'content-type': 'application/json' } }));
  console.log(out.join('\n'));
});
