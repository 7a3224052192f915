// A host service as a user writes it, compiled against the packed packages' published types (strict,
// skipLibCheck: false, exactOptionalPropertyTypes) and bundled with esbuild.
import { fileURLToPath } from 'node:url';
import { classify, affineProfile, isEparaError } from '@epara/core';
import { createExecutor } from '@epara/runtime';
import { createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import { encodeFrame, decodeFrame } from '@epara/mesh/wire';
import { simulate } from '@epara/sim';

const modelPath = process.argv[2];
if (modelPath === undefined) throw new Error('usage: host <model.onnx>');

const service = {
  id: 'seg', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
  profiles: { 'cpu-1t': affineProfile('cpu-1t', { fixedMs: 4, perItemMs: 6 }) },
} as const;
const category = classify({ service, demandPerSec: 40, deviceKinds: [{ kind: 'cpu-1t', memoryBytes: 1e9 }] });

// The device worker sits next to the bundle (copied there by the test), as docs/install.md says.
const workerUrl = new URL('./device-worker.js', import.meta.url);
const executor = createExecutor({
  devices: [{ id: 'cpu0', threads: 1, workerUrl }],
  services: [{ id: 'cls', model: modelPath, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 2000 },
    profile: affineProfile('cpu-1t', { fixedMs: 5, perItemMs: 5 }), devices: ['cpu0'] }],
});
await executor.start();
// Inputs are transferred to the device worker: a fresh tensor per request.
const image = () => ({ type: 'float32' as const, dims: [1, 3, 48, 192], data: new Float32Array(3 * 48 * 192).fill(0.5) });
const out = await executor.submit('cls', { x: image() });
const probs = out['softmax_0.tmp_0'];

const hub = createMemoryHub();
const node = createNode({ id: 'a', transport: createMemoryTransport({ hub, address: 'a' }), executor, security: { psk: 'a-key-of-sixteen-bytes-or-more' }, placement: false });
await node.start();
const viaNode = await node.submit('cls', { x: image() });
await node.close();
await executor.close();

const frame = decodeFrame(encodeFrame({ type: 'ping', requestId: 7 }));
let rejected = 'none';
try {
  await executor.submit('cls', { x: image() });
} catch (err) {
  rejected = isEparaError(err) ? err.code : 'untyped';
}
console.log(JSON.stringify({
  category: category.category, dims: probs?.dims, nodeDims: viaNode['softmax_0.tmp_0']?.dims, frame: frame.type, rejected,
  simulate: typeof simulate, entry: fileURLToPath(import.meta.url).length > 0,
}));
