// Run with `node --expose-gc error-retention.mjs <n> <mode>`: submits `n` requests of 1 MB that are all
// rejected, keeps every error (as a host that logs or stores rejections would), and prints one JSON line
// with how many of the inputs are still alive after garbage collection and the heap growth.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { createExecutor, fakeModelBytes } = await import(join(root, 'packages/runtime/dist/index.js'));
const { affineProfile } = await import(join(root, 'packages/core/dist/index.js'));

const n = Number(process.argv[2] ?? 200);
const mode = process.argv[3] ?? 'deadline';
const FLOATS = 256 * 1024; // 1 MiB per input

const model = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', FLOATS] }], outputs: [{ name: 'y', from: 'x' }], fixedMs: 30 });
const ex = createExecutor({
  backend: { kind: 'fake' },
  devices: [{ id: 'd0' }],
  adaptLatency: false,
  services: [{ id: 's', model, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, profile: affineProfile('cpu-1t', { fixedMs: 30, perItemMs: 0, maxBatch: 64 }), maxBatch: 1, batchable: false, devices: ['d0'] }],
});
await ex.start();
const gc = globalThis.gc;
gc();
const before = process.memoryUsage();
const refs = [];
const kept = [];
const pending = [];
for (let i = 0; i < n; i++) {
  const data = new Float32Array(FLOATS).fill(i + 1);
  refs.push(new WeakRef(data));
  const ac = new AbortController();
  const inputs = { x: { type: 'float32', dims: [1, FLOATS], data } };
  // 'deadline': queued behind a long batch, dropped as DEADLINE_EXCEEDED; 'abort': withdrawn by its signal;
  // 'invalid': rejected at validation.
  const deadline = mode === 'deadline' ? performance.timeOrigin + performance.now() + 40 : undefined;
  const p = mode === 'invalid'
    ? ex.submit('s', { x: { type: 'float32', dims: [2, FLOATS], data } })
    : ex.submit('s', inputs, { ...(deadline ? { deadline } : {}), signal: ac.signal });
  pending.push(p.then(() => undefined, (err) => kept.push(err)));
  if (mode === 'abort') ac.abort();
}
await Promise.all(pending);
pending.length = 0;
for (let i = 0; i < 5; i++) {
  await new Promise((r) => setTimeout(r, 20));
  gc();
}
const alive = refs.filter((r) => r.deref() !== undefined).length;
const after = process.memoryUsage();
const codes = [...new Set(kept.map((e) => e.code))];
await ex.close();
process.stdout.write(`${JSON.stringify({ n, mode, errors: kept.length, codes, alive, heapGrowthMB: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20 })}\n`);
