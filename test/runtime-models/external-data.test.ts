import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParallelPlan } from '@epara/core';
import { createGraphBuilder, encodeModel, profileModel, type Executor } from '@epara/runtime';
import { f32 } from './fixtures/shape-models.js';
import { expectServedAsReference, reference, service, startExecutor, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * A model whose weights are ONNX external data (`location` in an initializer) names a file relative to the model's
 * own folder. Given as bytes, it has no folder: onnxruntime then looks in the process's working directory, and
 * whatever file of that name it finds there becomes the model's weights — a wrong answer, with no error.
 */

// `y = relu(x)` and a table of class scores returned as it is (`labels`, an initializer): onnxruntime's optimizer
// never reads that table at load, so from bytes it is read from the working directory without a word.
const weight = new Float32Array([1, -2, 3.5, 1e6]);
const g = createGraphBuilder({ name: 'external-labels' });
g.input('x', 'float32', ['N', 4]);
g.node('Relu', ['x'], ['y']);
g.constant('labels', 'float32', [4], weight);
g.output('y', 'float32', ['N', 4]);
g.output('labels', 'float32', [4]);
const inline = g.toBytes();
const external = g.toModel();
const w = external.graph!.initializer![0]!;
delete w.rawData;
w.dataLocation = 1;
w.externalData = [
  { key: 'location', value: 'epara-weights.bin' },
  { key: 'offset', value: '0' },
  { key: 'length', value: String(weight.byteLength) },
];
const externalBytes = encodeModel(external);

describe('a model given as bytes whose weights are external data', () => {
  const modelDir = mkdtempSync(join(tmpdir(), 'epara-ext-model-'));
  // Another folder, the working directory of the test, holding a file of the same name with other values.
  const elsewhere = mkdtempSync(join(tmpdir(), 'epara-ext-cwd-'));
  const cwd = process.cwd();
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    writeFileSync(join(modelDir, 'epara-weights.bin'), new Uint8Array(weight.buffer));
    writeFileSync(join(modelDir, 'model.onnx'), externalBytes);
    writeFileSync(join(elsewhere, 'epara-weights.bin'), new Uint8Array(new Float32Array([100, 200, 300, 400]).buffer));
    process.chdir(elsewhere);
    executor = await startExecutor([service('by-path', join(modelDir, 'model.onnx'))]);
    ref = await reference(inline);
  });
  afterAll(async () => {
    process.chdir(cwd);
    await executor?.close();
    await ref?.release();
    rmSync(modelDir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });
  const load = (id: string, bytes: Uint8Array): Promise<unknown> => {
    executor.register(service(id, bytes));
    return executor.load({ serviceId: id } as ParallelPlan, { deviceIds: ['cpu0'] });
  };

  it('is refused at load with LOAD_FAILED naming the initializer, never read from the working directory', async () => {
    const err = await rejection(load('by-bytes', externalBytes));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(/initializer 'labels' is stored as external data in 'epara-weights\.bin'.*give the model's path/);
    expect(executor.instances().some((i) => i.serviceId === 'by-bytes')).toBe(false);
  });

  it('by its path, reads the weights from its own folder, whatever the working directory', async () => {
    const served = await expectServedAsReference(executor, 'by-path', ref, [1, 2, 3, 4].map((s) => ({ x: f32([1, 4], s) })));
    expect(served.results.every((r) => r.ok)).toBe(true);
  });

  it('profileModel refuses the bytes the same way (LOAD_FAILED), and measures the path', async () => {
    const err = await rejection(profileModel({ model: externalBytes, batchSizes: [1], warmup: 0, repetitions: 1, inputs: (b) => ({ x: f32([b, 4], b) }) }));
    expect(err.code).toBe('LOAD_FAILED');
    expect((err as Error).message).toMatch(/initializer 'labels'/);
    const profile = await profileModel({ model: join(modelDir, 'model.onnx'), batchSizes: [1], warmup: 0, repetitions: 1, inputs: (b) => ({ x: f32([b, 4], b) }) });
    expect(profile.points.map((p) => p.batch)).toEqual([1]);
  });
});
