import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';

const runtime = pathToFileURL(join(import.meta.dirname, '..', '..', 'packages', 'runtime', 'dist', 'index.js')).href;

// Terminating a worker thread while onnxruntime runs inside it can abort the whole process ("terminate called
// after throwing an instance of 'Napi::Error'"). A device asks its worker to finish and release its sessions
// first; this closes devices with runs in flight, in a process of its own, and expects it to live.
const script = `
import { createDevice } from ${JSON.stringify(runtime)};
const n = 3 * 640 * 640;
for (let round = 0; round < 5; round++) {
  const device = createDevice({ id: 'cpu0', threads: 1 });
  await device.loadModel('det', { path: ${JSON.stringify(models.ocrDet)} });
  const runs = [1, 2, 3].map(() => device.run('det', { x: { type: 'float32', dims: [1, 3, 640, 640], data: new Float32Array(n).fill(0.5) } }).catch((e) => e.code));
  await new Promise((r) => setTimeout(r, round * 15));
  await device.close();
  const codes = await Promise.all(runs);
  if (!codes.every((c) => c === 'CLOSED' || typeof c === 'object')) throw new Error('unexpected settle: ' + codes);
}
console.log('alive');
`;

describe('closing a device with onnxruntime runs in flight', () => {
  it('settles the runs and leaves the process alive', () => {
    // A file, not --eval: worker threads inherit the process's exec arguments.
    const file = join(mkdtempSync(join(tmpdir(), 'epara-close-')), 'close.mjs');
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    expect(out.trim()).toBe('alive');
  }, 150_000);
});
