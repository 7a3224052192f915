/**
 * Wire-layer measurements for `bench/mesh.ts` (and runnable alone: `tsx bench/lib/wire.ts`): the binary
 * codec's encode/decode throughput against a JSON + base64 baseline (what a Node service typically writes
 * to ship tensors), and the echo round trip of one frame over a transport. Last line when run alone: JSON.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createMemoryTransport, createWebSocketTransport } from '@epara/mesh';
import { decodeFrame, encodeFrame } from '@epara/mesh/wire';
import type { Transport } from '@epara/mesh';
import type { WireMessage } from '@epara/mesh/wire';

/** Codec figures for one payload size. */
export interface CodecFigures {
  readonly payloadBytes: number;
  readonly frameBytes: number;
  readonly encodeMBps: number;
  readonly decodeMBps: number;
  readonly jsonEncodeMBps: number;
  readonly jsonDecodeMBps: number;
  readonly jsonFrameBytes: number;
}

/** A `submit` of one float32 tensor of about `payloadBytes` bytes. */
export function submitMessage(payloadBytes: number): WireMessage {
  const n = Math.max(1, Math.floor(payloadBytes / 4));
  const data = new Float32Array(n).map((_, i) => Math.sin(i));
  return { type: 'submit', requestId: 1, serviceId: 'seg', budgetMs: 80, hops: 0, maxHops: 2, visited: ['edge-1'], priority: 0, inputs: { x: { type: 'float32', dims: [1, n], data } } };
}

function timeLoop(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(300, iterations); i++) fn(); // warm-up (JIT, allocator)
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - t0) / 1000;
}

/** Encode/decode MB/s of the binary codec vs JSON with base64 tensor data, same message, same run. */
export function measureCodec({ payloadBytes = 100_000, iterations = 2000 } = {}): CodecFigures {
  const m = submitMessage(payloadBytes);
  const frame = encodeFrame(m);
  const mb = (iterations * payloadBytes) / 1e6;
  let sink = 0;
  const enc = timeLoop(iterations, () => (sink += encodeFrame(m).byteLength));
  const dec = timeLoop(iterations, () => (sink += decodeFrame(frame).requestId));
  const toJson = (): string => {
    if (m.type !== 'submit') return '';
    const x = m.inputs['x'] as { type: string; dims: readonly number[]; data: Float32Array };
    const b64 = Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).toString('base64');
    return JSON.stringify({ ...m, inputs: { x: { type: x.type, dims: x.dims, data: b64 } } });
  };
  const json = toJson();
  const jsonEnc = timeLoop(iterations, () => (sink += toJson().length));
  const jsonDec = timeLoop(iterations, () => {
    const v = JSON.parse(json) as { inputs: { x: { data: string } } };
    const bytes = Buffer.from(v.inputs.x.data, 'base64');
    sink += new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).length;
  });
  if (sink === -1) throw new Error('unreachable');
  return {
    payloadBytes,
    frameBytes: frame.byteLength,
    encodeMBps: mb / enc,
    decodeMBps: mb / dec,
    jsonEncodeMBps: mb / jsonEnc,
    jsonDecodeMBps: mb / jsonDec,
    jsonFrameBytes: Buffer.byteLength(json),
  };
}

/** Echo round trips of one encoded frame over a fresh server/client pair; returns p50 and p99 in ms. */
export async function measureRoundTrip(
  make: () => Transport,
  { payloadBytes = 100_000, iterations = 500 } = {},
): Promise<{ p50Ms: number; p99Ms: number }> {
  const server = make();
  const client = make();
  server.on('connectionAccepted', ({ connection }) => connection.on('frameReceived', ({ frame }) => connection.send(frame)));
  const { address } = await server.listen();
  const conn = await client.connect(address);
  const frame = encodeFrame(submitMessage(payloadBytes));
  const samples: number[] = [];
  for (let i = 0; i < iterations + 20; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      conn.once('frameReceived', () => resolve());
      conn.send(frame);
    });
    if (i >= 20) samples.push(performance.now() - t0);
  }
  await Promise.all([client.close(), server.close()]);
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function main(): Promise<void> {
  const codec = measureCodec();
  const ws = await measureRoundTrip(() => createWebSocketTransport());
  const mem = await measureRoundTrip(() => createMemoryTransport());
  const f = (x: number): string => x.toFixed(1);
  process.stdout.write(
    `codec 100 KB submit: encode ${f(codec.encodeMBps)} MB/s (JSON+base64 ${f(codec.jsonEncodeMBps)}, ×${f(codec.encodeMBps / codec.jsonEncodeMBps)}), ` +
      `decode ${f(codec.decodeMBps)} MB/s (JSON+base64 ${f(codec.jsonDecodeMBps)}, ×${f(codec.decodeMBps / codec.jsonDecodeMBps)}); ` +
      `frame ${codec.frameBytes} B vs JSON ${codec.jsonFrameBytes} B\n` +
      `echo round trip 100 KB: websocket p50 ${ws.p50Ms.toFixed(3)} ms p99 ${ws.p99Ms.toFixed(3)} ms; memory p50 ${mem.p50Ms.toFixed(3)} ms\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      codecEncodeMBps: Math.round(codec.encodeMBps),
      codecDecodeMBps: Math.round(codec.decodeMBps),
      jsonBase64EncodeMBps: Math.round(codec.jsonEncodeMBps),
      jsonBase64DecodeMBps: Math.round(codec.jsonDecodeMBps),
      wsEchoP50Ms: Number(ws.p50Ms.toFixed(3)),
      memoryEchoP50Ms: Number(mem.p50Ms.toFixed(3)),
    })}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
