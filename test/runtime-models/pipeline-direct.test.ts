import { afterAll, describe, expect, it } from 'vitest';
import { buildMlp, createDevice, createPipelineEngine, splitModel, type DeviceHandle, type PipelineEngine } from '@epara/runtime';
import type { NamedTensors, TensorLike } from '@epara/core';
import { floatItem, maxAbsDiff, rejection } from './helpers.js';

/* Worker-to-worker hand-offs: stage values never pass through the host, and outputs equal the whole model's. */
const devices: DeviceHandle[] = [];
const engines: PipelineEngine[] = [];
const device = (id: string, workerUrl?: URL): DeviceHandle => {
  const d = createDevice({ id, threads: 1, ...(workerUrl ? { workerUrl } : {}) });
  devices.push(d);
  return d;
};
const far = () => Date.now() + 60_000;
const model = buildMlp({ inputSize: 32, hidden: [64, 64, 64, 64], outputs: 8, seed: 12 });
const stages = splitModel(model, { cutTensors: ['h1', 'h3'] });
const items = Array.from({ length: 16 }, (_, i) => floatItem('x', [32], i + 100));

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(devices.map((d) => d.close()));
});

async function runPipeline(handoff: 'direct' | 'host', prefix: string): Promise<{ outs: NamedTensors[]; engine: PipelineEngine }> {
  const engine = createPipelineEngine({ stages: stages.map((s, i) => ({ device: device(`${prefix}${i}`), model: { bytes: s.bytes } })), batchSize: 4, handoff });
  engines.push(engine);
  const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
  return { outs, engine };
}

describe('pipeline hand-offs between workers', () => {
  it('a three-stage pipeline hands values worker to worker, with the whole model’s outputs and nothing crossing the host', async () => {
    expect(stages).toHaveLength(3);
    const direct = await runPipeline('direct', 'dd');
    const host = await runPipeline('host', 'dh');
    const whole = device('dwhole');
    await whole.loadModel('mlp', { bytes: model });
    const stacked = new Float32Array(16 * 32);
    items.forEach((it, i) => stacked.set(it['x']!.data as Float32Array, i * 32));
    const ref = (await whole.run('mlp', { x: { type: 'float32', dims: [16, 32], data: stacked } }))['y']!;
    direct.outs.forEach((o, i) => {
      const row: TensorLike = { type: 'float32', dims: [1, 8], data: (ref.data as Float32Array).slice(i * 8, i * 8 + 8) };
      expect(maxAbsDiff(o['y']!, row)).toBeLessThanOrEqual(1e-5);
      expect(Array.from(o['y']!.data as Float32Array)).toEqual(Array.from(host.outs[i]!['y']!.data as Float32Array));
    });
    const handoffBytes = 16 * (64 + 64) * 4; // h1 and h3, float32, per item
    expect(direct.engine.stats()).toMatchObject({ handoff: 'direct', handoffBytesViaHost: 0, handoffBytesDirect: handoffBytes, completedItems: 16 });
    expect(host.engine.stats()).toMatchObject({ handoff: 'host', handoffBytesViaHost: handoffBytes, handoffBytesDirect: 0, completedItems: 16 });
  });

  it('falls back to hand-offs through the host when a stage device cannot link, with the same outputs', async () => {
    const hide = (d: DeviceHandle): DeviceHandle =>
      new Proxy(d, {
        get(target, prop) {
          if (prop === 'linkTo' || prop === 'runLinked' || prop === 'unlink') return undefined;
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    const engine = createPipelineEngine({ stages: stages.map((s, i) => ({ device: i === 1 ? hide(device(`df${i}`)) : device(`df${i}`), model: { bytes: s.bytes } })), batchSize: 4 });
    engines.push(engine);
    const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));
    const direct = await runPipeline('direct', 'dg');
    outs.forEach((o, i) => expect(Array.from(o['y']!.data as Float32Array)).toEqual(Array.from(direct.outs[i]!['y']!.data as Float32Array)));
    expect(engine.stats()).toMatchObject({ handoff: 'host', handoffBytesDirect: 0, completedItems: 16 });
  });

  it('a crashed stage worker fails its batches WORKER_CRASHED; later batches run over fresh links', async () => {
    const crashy = new URL('./fixtures/crashing-device-worker.mjs', import.meta.url);
    const engine = createPipelineEngine({
      stages: [0, 1].map((i) => ({ device: device(`dc${i}`, crashy), model: { bytes: splitModel(model, { cutTensors: ['h2'] })[i]!.bytes } })),
      batchSize: 1,
      launchWhenIdle: true,
      key: 'crashy',
    });
    engines.push(engine);
    const submit = (i: number) => engine.submit(items[i]!, { deadline: far(), priority: 0 });
    const first = await submit(0);
    expect((await rejection(submit(1))).code).toBe('WORKER_CRASHED');
    const again = await submit(0);
    expect(Array.from(again['y']!.data as Float32Array)).toEqual(Array.from(first['y']!.data as Float32Array));
    expect(engine.stats()).toMatchObject({ handoff: 'direct', handoffBytesViaHost: 0, failedBatches: 1, completedItems: 2 });
  });
});
