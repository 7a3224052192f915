import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGraphBuilder } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference } from '../runtime-models/ground-truth.js';
import { modelFilesConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * A model file replaced while `epara serve` serves it, then loaded again through the repository API. The server
 * keeps serving what it loaded until then; a file with the same inputs and outputs is served once loaded (its
 * answers raw onnxruntime's on the new file); a file whose inputs or outputs differ from what the server announces
 * is refused typed at load, the metadata unchanged, and the model served again once the file is restored. Before,
 * such a load succeeded under the old metadata: every request was then refused (by the gateway for the new shape,
 * by the executor for the old) until the server restarted.
 */

const model = (op: string, width: number): Uint8Array => {
  const g = createGraphBuilder({ name: `${op}-${width}` });
  g.input('x', 'float32', ['batch', width]);
  g.node(op, ['x'], ['y']);
  g.output('y', 'float32', ['batch', width]);
  return g.toBytes();
};

const dir = mkdtempSync(join(tmpdir(), 'epara-replaced-'));
const file = join(dir, 'm.onnx');
/** Replaces the file at once (a rename, as a deploy tool does), never half-written. */
const replace = (bytes: Uint8Array | string): void => {
  writeFileSync(join(dir, 'next'), bytes);
  renameSync(join(dir, 'next'), file);
};

let serve: ServeProcess;
beforeAll(async () => {
  replace(model('Relu', 4));
  serve = await startServe(modelFilesConfig('replaced', { m: file }));
}, 90_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const post = async (path: string, body: object = {}): Promise<{ status: number; body: { error?: string; code?: string; outputs?: { shape: number[]; data: number[] }[] } }> => {
  const res = await fetch(`${serve.http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
};
const row = [1, -2, 3, -4];
const infer = () => post('/v2/models/m/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: row }] });
const reload = async () => (await post('/v2/repository/models/m/unload')).status === 200 ? post('/v2/repository/models/m/load') : Promise.reject(new Error('unload refused'));
const metadata = async (): Promise<unknown> => (await fetch(`${serve.http}/v2/models/m`)).json();

describe('a model file replaced while served', () => {
  it('serves what it loaded until a load, then the new file of the same inputs and outputs, as onnxruntime runs it', async () => {
    replace(model('Neg', 4));
    expect((await infer()).body.outputs?.[0]?.data).toEqual([1, 0, 3, 0]); // still the loaded Relu
    expect((await reload()).status).toBe(200);
    const ref = await reference(model('Neg', 4));
    const want = (await ref.run({ x: { type: 'float32', dims: [1, 4], data: new Float32Array(row) } }))['y']!;
    await ref.release();
    const got = await infer();
    expect(got.status).toBe(200);
    expect(got.body.outputs?.[0]?.data).toEqual(Array.from(want.data as Float32Array));
  });

  it('refuses to load a file whose inputs or outputs changed, typed, keeping its metadata; loads it again once restored', async () => {
    const before = await metadata();
    replace(model('Neg', 3));
    const refused = await reload();
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('LOAD_FAILED');
    expect(refused.body.error).toMatch(/inputs or outputs/);
    expect(await metadata()).toEqual(before);
    expect((await infer()).body.code).toBe('NO_INSTANCE'); // unloaded, and not loaded again: typed, never a wrong answer
    replace(model('Neg', 4));
    expect((await post('/v2/repository/models/m/load')).status).toBe(200);
    expect((await infer()).body.outputs?.[0]?.data).toEqual([-1, 2, -3, 4]);
  });
});
