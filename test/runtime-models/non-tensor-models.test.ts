import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, TensorLike } from '@epara/core';
import { createDevice, createGraphBuilder, createPipelineEngine, encodeModel, profileModel, splitModel, type DeviceHandle, type PipelineEngine } from '@epara/runtime';
import { expectSameOutputs, reference, type Reference } from './ground-truth.js';
import { rejection } from './helpers.js';

/*
 * Models with values onnxruntime-node can neither feed nor return — an sklearn-onnx classifier's ZipMap output (a
 * sequence of maps, the common real case), an optional input — through the model-parallel pipeline and the
 * profiler: each is either served with the tensors it can return (as raw onnxruntime-node answers when asked for
 * them) or refused at start with a typed error naming the value, never a failure of every request.
 */

/**
 * An sklearn-onnx pipeline of a scaler and a linear classifier: `label` (int64) and `output_probability`, a ZipMap
 * over the probabilities.
 */
function classifier(): Uint8Array {
  const g = createGraphBuilder({ name: 'skl-linear' });
  g.input('float_input', 'float32', [null, 4]);
  g.node('Scaler', ['float_input'], ['variable'], { offset: [0.5, -1, 0, 2], scale: [1.5, 0.5, 2, 1] });
  const coefficients = Array.from({ length: 12 }, (_, i) => ((i * 7) % 5) * 0.3 - 0.5);
  g.node('LinearClassifier', ['variable'], ['label', 'probability_tensor'], { classlabels_ints: [0, 1, 2], coefficients, intercepts: [0.1, -0.2, 0.3], post_transform: 'SOFTMAX' });
  g.node('Normalizer', ['probability_tensor'], ['probabilities'], { norm: 'L1' });
  g.node('ZipMap', ['probabilities'], ['output_probability'], { classlabels_int64s: [0, 1, 2] });
  g.output('label', 'int64', [null]);
  g.output('output_probability', 'float32', [null]);
  const m = g.toModel();
  for (const n of m.graph!.node!) n.domain = 'ai.onnx.ml';
  m.opsetImport!.push({ domain: 'ai.onnx.ml', version: 1 });
  m.graph!.output![1]!.type = { sequenceType: { elemType: { mapType: { keyType: 7, valueType: { tensorType: { elemType: 1 } } } } } };
  return encodeModel(m);
}

/** `y = relu(x)`, and whether the optional input `o` holds a value. */
function optionalInput(): Uint8Array {
  const g = createGraphBuilder({ name: 'optional-in' });
  g.input('x', 'float32', ['N', 4]);
  g.input('o', 'float32', ['N', 4]);
  g.node('Relu', ['x'], ['h']);
  g.node('Neg', ['h'], ['y']);
  g.node('OptionalHasElement', ['o'], ['has']);
  g.output('y', 'float32', ['N', 4]);
  g.output('has', 'bool', []);
  const m = g.toModel({ opset: 18 });
  m.graph!.input![1]!.type = { optionalType: { elemType: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 4 }] } } } } };
  return encodeModel(m);
}

const f32 = (dims: number[], seed: number): TensorLike => {
  const n = dims.reduce((a, b) => a * b, 1);
  return { type: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => Math.round(Math.sin(seed * 17 + i * 3.1) * 100) / 8) };
};
const far = (): number => Date.now() + 60_000;

const devices: DeviceHandle[] = [];
const engines: PipelineEngine[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(devices.map((d) => d.close()));
});

function pipeline(bytes: Uint8Array, cut: string, outputNames?: readonly string[]): PipelineEngine {
  const stages = splitModel(bytes, { cutTensors: [cut] });
  const engine = createPipelineEngine({
    stages: stages.map((s, i) => {
      const device = createDevice({ id: `nt${devices.length}-${i}`, threads: 1 });
      devices.push(device);
      return { device, model: { bytes: s.bytes } };
    }),
    batchSize: 4,
    launchWhenIdle: true,
    ...(outputNames ? { outputNames } : {}),
  });
  engines.push(engine);
  return engine;
}

describe('an sklearn-onnx classifier with a ZipMap output, through the pipeline and the profiler', () => {
  const bytes = classifier();
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(bytes);
  });
  afterAll(async () => {
    await ref?.release();
  });

  it('refuses at start, naming the ZipMap output and the tensors to list in outputNames, when every output is returned', async () => {
    const err = (await rejection(pipeline(bytes, 'probabilities').start())) as { code?: string; message?: string };
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.message).toMatch(/output 'output_probability' is a sequence.*outputNames.*label/);
  });

  it('refuses at start a stage that would return nothing (its only output the ZipMap, outputNames: [label])', async () => {
    const err = (await rejection(pipeline(bytes, 'probability_tensor', ['label']).start())) as { code?: string; message?: string };
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.message).toMatch(/stage 1 .*output_probability/);
  });

  it('answers the label of each request as raw onnxruntime-node does, with outputNames: [label]', async () => {
    const engine = pipeline(bytes, 'variable', ['label']);
    const rows: number[] = [];
    engine.on('batchDispatched', (e) => rows.push(e.items));
    for (const round of [0, 1]) {
      const items: NamedTensors[] = Array.from({ length: 6 }, (_, k) => ({ float_input: f32([1, 4], round * 10 + k) }));
      const expected: NamedTensors[] = [];
      for (const it of items) expected.push(await ref.run(it, ['label']));
      const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
      outs.forEach((o, i) => expectSameOutputs(o, expected[i]!));
    }
    expect(Math.max(...rows)).toBeGreaterThan(1); // rows of a linear classifier are independent
  });

  it('profiles it, fetching the outputs a served request can get (its tensors)', async () => {
    const profile = await profileModel({ model: bytes, batchSizes: [1, 2], warmup: 0, repetitions: 1, inputs: (b) => ({ float_input: f32([b, 4], b) }) });
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2]);
  });

  it('epara-profile checks and measures it at every batch size, fetching its tensors (rows of a linear classifier are independent)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'epara-zipmap-'));
    await writeFile(join(dir, 'skl.onnx'), bytes);
    const cli = fileURLToPath(new URL('../../packages/runtime/dist/profile-cli.js', import.meta.url));
    const args = [cli, '--model', join(dir, 'skl.onnx'), '--input', 'float_input=1x4', '--batch', '1,2', '--warmup', '0', '--repetitions', '1', '--out', join(dir, 'p.json')];
    const { stderr } = await promisify(execFile)(process.execPath, args);
    expect(stderr).not.toContain('not batch-separable');
    const profile = JSON.parse(await readFile(join(dir, 'p.json'), 'utf8')) as { points: { batch: number }[] };
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2]);
  });
});

describe('a model with an optional input, which onnxruntime-node cannot feed', () => {
  it('the pipeline refuses it at start (LOAD_FAILED naming the input), instead of failing every request', async () => {
    const err = (await rejection(pipeline(optionalInput(), 'h', ['y']).start())) as { code?: string; message?: string };
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.message).toMatch(/input 'o' is an optional/);
  });

  it('the profiler refuses it (LOAD_FAILED naming the input)', async () => {
    const err = (await rejection(profileModel({ model: optionalInput(), batchSizes: [1], warmup: 0, repetitions: 1, inputs: (b) => ({ x: f32([b, 4], 1) }) }))) as { code?: string; message?: string };
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.message).toMatch(/input 'o' is an optional/);
  });
});
