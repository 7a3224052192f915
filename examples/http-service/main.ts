import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { EparaError } from '@epara/core';
import { createMeshMetrics } from '@epara/mesh';
import { createRuntimeMetrics } from '@epara/runtime';
import { Registry } from 'prom-client';
import { SEGMENT, startCluster } from './cluster.js';
import { toDetectorInput, toMask } from './detector.js';
import { httpError } from './http-errors.js';
import { MAX_SIDE, decodeNetpbm, encodePgm } from './netpbm.js';

/** Options of {@link main}. */
export interface HttpServiceOptions {
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Pre-shared key of the two nodes. @default a fixed demo key */
  readonly psk?: string;
  /** Let the front node run the model too (it offloads only what it cannot finish in time). @default false */
  readonly frontHostsModel?: boolean;
}

/** A running service. */
export interface HttpService {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 3 * MAX_SIDE * MAX_SIDE + 64;

/**
 * Starts the service: two EPARA nodes (front + worker) and a node:http server on 127.0.0.1.
 * `POST /v1/segment[?deadlineMs=N]` with a binary PGM/PPM body → the text mask as PGM (or JSON with
 * `Accept: application/json`); `GET /metrics` → Prometheus text.
 */
export async function main(options: HttpServiceOptions = {}): Promise<HttpService> {
  const cluster = await startCluster({ psk: options.psk ?? 'http-service-demo-key-0123456789', frontHostsModel: options.frontHostsModel ?? false });
  const registry = new Registry();
  const runtimeMetrics = await createRuntimeMetrics({ executor: cluster.executor, registry });
  const meshMetrics = await createMeshMetrics({ node: cluster.front, registry });
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, httpError(err)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    if (url.pathname !== '/v1/segment') return send(res, { status: 404, code: 'NOT_FOUND', message: `no route ${url.pathname}` });
    if (req.method !== 'POST') return send(res, { status: 405, code: 'METHOD_NOT_ALLOWED', message: 'POST an image' });
    const body = await readBody(req);
    if (body === undefined) return send(res, { status: 413, code: 'INVALID_INPUT', message: `body over ${MAX_BODY} bytes` });
    const budget = Number(url.searchParams.get('deadlineMs') ?? (SEGMENT.slo.kind === 'latency' ? SEGMENT.slo.deadlineMs : 2000));
    if (!(budget > 0)) throw new EparaError('INVALID_INPUT', 'deadlineMs must be a positive number');
    const image = decodeNetpbm(body);
    const started = Date.now();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      const outputs = await cluster.front.submit(SEGMENT.id, toDetectorInput(image), { deadline: started + budget, signal: abort.signal });
      const latencyMs = Date.now() - started;
      runtimeMetrics.observeRequest({ serviceId: SEGMENT.id, category: 'latency', latencyMs, outcome: latencyMs <= budget ? 'ok' : 'late' });
      const mask = toMask(outputs, image.width, image.height);
      if ((req.headers.accept ?? '').includes('application/json')) {
        const positive = mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
        const json = { width: image.width, height: image.height, positiveFraction: positive / mask.length, latencyMs, pgmBase64: Buffer.from(encodePgm(image.width, image.height, mask)).toString('base64') };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      } else {
        res.writeHead(200, { 'content-type': 'image/x-portable-graymap', 'x-latency-ms': String(latencyMs) }).end(encodePgm(image.width, image.height, mask));
      }
    } catch (err) {
      runtimeMetrics.observeRequest({ serviceId: SEGMENT.id, category: 'latency', latencyMs: Date.now() - started, outcome: httpError(err).code });
      throw err;
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      runtimeMetrics.close();
      meshMetrics.close();
      await cluster.close();
    },
  };
}

function send(res: ServerResponse, e: { status: number; code: string; message: string }): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: e.code, message: e.message } }));
}

/** Reads the body, or `undefined` once it exceeds {@link MAX_BODY}. */
async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A synthetic 96×64 test card: dark "text" bars on a light background, as binary PPM. */
export function testCard(width = 96, height = 64): Uint8Array {
  const header = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
  const px = new Uint8Array(width * height * 3).fill(235);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inBar = y % 16 >= 6 && y % 16 < 11 && x > 8 && x < width - 8 && x % 12 < 9;
      if (inBar) px.fill(20, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  const out = new Uint8Array(header.length + px.length);
  out.set(header);
  out.set(px, header.length);
  return out;
}

// Run directly: `tsx main.ts` serves until Ctrl-C; `tsx main.ts --short` posts the test card once and exits.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const service = await main({ port: Number(process.env['PORT'] ?? 0) });
  console.log(`EPARA http-service on ${service.url}  (POST /v1/segment with a PGM/PPM body, GET /metrics)`);
  if (process.argv.includes('--short')) {
    const res = await fetch(`${service.url}/v1/segment`, { method: 'POST', body: testCard(), headers: { accept: 'application/json' } });
    const json = (await res.json()) as Record<string, unknown>;
    console.log(res.status, { ...json, pgmBase64: `${String(json['pgmBase64']).length} base64 chars` });
    await service.close();
  } else {
    process.once('SIGINT', () => void service.close());
  }
}
