import { createDevice, fakeModelBytes } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { runDeviceContract } from './device-contract.js';

runDeviceContract('fake backend', {
  createDevice: (o) => createDevice({ ...o, backend: { kind: 'fake' } }),
  model: {
    bytes: fakeModelBytes({
      inputs: [{ name: 'x', type: 'float32', dims: ['batch', 4] }],
      outputs: [{ name: 'y', from: 'x', scale: 2, offset: 1 }],
      fixedMs: 1,
      perItemMs: 0.5,
    }),
  },
  feeds: (batch) => ({ x: { type: 'float32', dims: [batch, 4], data: seededFloats(batch * 4) } }),
  outputName: 'y',
});

runDeviceContract('onnxruntime-node (PP-OCR classifier)', {
  createDevice: (o) => createDevice({ ...o, threads: 1 }),
  model: { path: models.ocrCls },
  feeds: (batch) => ({ x: { type: 'float32', dims: [batch, 3, 48, 192], data: seededFloats(batch * 3 * 48 * 192) } }),
  outputName: 'softmax_0.tmp_0',
});

// A host's own backend, loaded into each device worker as a module (the port every backend implements).
runDeviceContract('custom backend module', {
  createDevice: (o) => createDevice({ ...o, backend: { kind: 'module', url: new URL('./fixtures/affine-backend.mjs', import.meta.url), options: { label: 'z' } } }),
  model: { bytes: new TextEncoder().encode(JSON.stringify({ affine: { scale: 2, offset: 1, width: 4 } })) },
  feeds: (batch) => ({ x: { type: 'float32', dims: [batch, 4], data: seededFloats(batch * 4) } }),
  outputName: 'z',
});
