import { afterAll, describe, expect, it } from 'vitest';
import { createDevice, buildMlp, createPipelineEngine, splitModel, type DeviceHandle, type PipelineEngine } from '@epara/runtime';
import { affineProfile, type NamedTensors, type TensorLike } from '@epara/core';
import { fakeAffine, floatItem, maxAbsDiff, rejection, values } from './helpers.js';

const devices: DeviceHandle[] = [];
const engines: PipelineEngine[] = [];
const device = (id: string, fake = false): DeviceHandle => {
  const d = createDevice({ id, threads: 1, ...(fake ? { backend: { kind: 'fake' as const } } : {}) });
  devices.push(d);
  return d;
};
const track = (e: PipelineEngine): PipelineEngine => (engines.push(e), e);
const far = () => Date.now() + 60_000;

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(devices.map((d) => d.close()));
});

describe('model-parallel pipeline (real onnxruntime devices)', () => {
  const model = buildMlp({ inputSize: 32, hidden: [64, 64, 64, 64], outputs: 8, seed: 11 });
  const [s0, s1] = splitModel(model, { cutTensors: ['h1'] });

  it('gives the whole model’s outputs, and stage 2 of batch k overlaps stage 1 of batch k + 1', async () => {
    const engine = track(createPipelineEngine({
      stages: [{ device: device('mp0'), model: { bytes: s0!.bytes } }, { device: device('mp1'), model: { bytes: s1!.bytes } }],
      batchSize: 4,
    }));
    const log: string[] = [];
    engine.on('stageStarted', (e) => log.push(`start ${e.stage} ${e.batchId}`));
    engine.on('stageCompleted', (e) => log.push(`end ${e.stage} ${e.batchId}`));
    await engine.start();
    expect(engine.dataflow()).toMatchObject({ outputNames: ['y'], stages: [{ inputs: ['x'], outputs: ['h1'] }, { inputs: ['h1'], outputs: ['y'] }] });
    const items = Array.from({ length: 16 }, (_, i) => floatItem('x', [32], i));
    const outs = await Promise.all(items.map((it) => engine.submit(it, { deadline: far(), priority: 0 })));

    const whole = device('whole');
    await whole.loadModel('mlp', { bytes: model });
    const stacked = new Float32Array(16 * 32);
    items.forEach((it, i) => stacked.set(it['x']!.data as Float32Array, i * 32));
    const ref = (await whole.run('mlp', { x: { type: 'float32', dims: [16, 32], data: stacked } }))['y']!;
    outs.forEach((o, i) => {
      const row: TensorLike = { type: 'float32', dims: [1, 8], data: (ref.data as Float32Array).slice(i * 8, i * 8 + 8) };
      expect(maxAbsDiff(o['y']!, row)).toBeLessThanOrEqual(1e-5);
    });
    expect(engine.stats()).toMatchObject({ completedItems: 16, failedBatches: 0, inFlightBatches: 0 });
    // Overlap: stage 0 took batch k + 1 before stage 1 had finished batch k.
    const overlapped = [1, 2, 3].some((k) => log.indexOf(`start 0 ${k + 1}`) < log.indexOf(`end 1 ${k}`) && log.indexOf(`start 1 ${k}`) < log.indexOf(`end 0 ${k + 1}`));
    expect(overlapped).toBe(true);
  });

  it('rejects wrong input names and dtypes with INVALID_INPUT', async () => {
    const engine = track(createPipelineEngine({
      stages: [{ device: device('v0'), model: { bytes: s0!.bytes } }, { device: device('v1'), model: { bytes: s1!.bytes } }],
      batchSize: 2,
    }));
    expect((await rejection(engine.submit(floatItem('nope', [32], 1), { deadline: far(), priority: 0 }))).code).toBe('INVALID_INPUT');
    const ints: NamedTensors = { x: { type: 'int32', dims: [1, 32], data: new Int32Array(32) } };
    expect((await rejection(engine.submit(ints, { deadline: far(), priority: 0 }))).code).toBe('INVALID_INPUT');
  });
});

describe('model-parallel pipeline scheduling (fake devices)', () => {
  const stages = (o: { fixedMs?: number; fail?: number } = {}) => [
    { device: device(`f0-${devices.length}`, true), model: { bytes: fakeAffine('x', 'h', { scale: 2, fixedMs: o.fixedMs ?? 0, ...(o.fail === undefined ? {} : { failIfAnyEquals: o.fail }) }) } },
    { device: device(`f1-${devices.length}`, true), model: { bytes: fakeAffine('h', 'y', { offset: 1 }) } },
  ];
  const item = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 2], data: Float32Array.from([v, v]) } });

  it('a failing stage fails only its batch; later batches succeed', async () => {
    const engine = track(createPipelineEngine({ stages: stages({ fail: 13 }), batchSize: 1 }));
    const results = await Promise.allSettled([1, 13, 2].map((v) => engine.submit(item(v), { deadline: far(), priority: 0 })));
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'MODEL_ERROR' } });
    const ok = results.map((r) => (r.status === 'fulfilled' ? values(r.value['y']!) : r.status));
    expect(ok).toEqual([[3, 3], 'rejected', [5, 5]]);
    expect(engine.stats().failedBatches).toBe(1);
  });

  it('aborting a queued request removes it before dispatch; the others run', async () => {
    const engine = track(createPipelineEngine({ stages: stages({ fixedMs: 30 }), batchSize: 1 }));
    const controller = new AbortController();
    const first = engine.submit(item(1), { deadline: far(), priority: 0 });
    await new Promise((r) => engine.once('batchDispatched', r));
    const aborted = engine.submit(item(2), { deadline: far(), priority: 0, signal: controller.signal });
    const third = engine.submit(item(3), { deadline: far(), priority: 0 });
    controller.abort();
    expect((await rejection(aborted)).code).toBe('ABORTED');
    expect(values((await first)['y']!)).toEqual([3, 3]);
    expect(values((await third)['y']!)).toEqual([7, 7]);
    expect(engine.stats().completedBatches).toBe(2);
  });

  it('drops a request that can no longer meet its deadline (DEADLINE_EXCEEDED) and refuses infeasible ones', async () => {
    const [a, b] = stages({ fixedMs: 200 });
    const engine = track(createPipelineEngine({
      stages: [{ ...a!, profile: affineProfile('fake', { fixedMs: 200, perItemMs: 0 }) }, { ...b!, profile: affineProfile('fake', { fixedMs: 1, perItemMs: 0 }) }],
      batchSize: 1,
    }));
    const dropped: string[] = [];
    engine.on('requestDropped', (e) => dropped.push(e.reason));
    await engine.start();
    const t0 = Date.now();
    const first = engine.submit(item(1), { deadline: t0 + 60_000, priority: 0 });
    await new Promise((r) => engine.once('batchDispatched', r));
    // Feasible when submitted (201 ms < 300 ms) but it must wait ~200 ms for stage 0: dropped before it runs.
    const late = engine.submit(item(3), { deadline: t0 + 300, priority: 0 });
    const second = engine.submit(item(2), { deadline: t0 + 60_000, priority: 0 });
    expect((await rejection(engine.submit(item(4), { deadline: Date.now() + 5, priority: 0 }))).code).toBe('DEADLINE_INFEASIBLE');
    expect((await rejection(late)).code).toBe('DEADLINE_EXCEEDED');
    await Promise.all([first, second]);
    expect(dropped).toEqual(['DEADLINE_EXCEEDED']);
    expect(engine.estimate(1000)).toBeGreaterThanOrEqual(1000 + 201);
  });

  it('holds a partial batch until its earliest deadline forces a launch, or launches at once with launchWhenIdle', async () => {
    const profile = affineProfile('fake', { fixedMs: 10, perItemMs: 0 });
    const withProfile = () => stages().map((s) => ({ ...s, profile }));
    // A wide guard: the held batch starts 200 ms before its deadline, so a wake-up that a loaded machine delays
    // by up to that much still launches it instead of dropping it.
    const waiting = track(createPipelineEngine({ stages: withProfile(), batchSize: 4, guardMs: 200 }));
    const eager = track(createPipelineEngine({ stages: withProfile(), batchSize: 4, launchWhenIdle: true }));
    await Promise.all([waiting.start(), eager.start()]);
    const rows = (e: PipelineEngine) => {
      const seen: { rows: number; at: number }[] = [];
      e.on('batchDispatched', (b) => seen.push(b));
      return seen;
    };
    const [held, immediate] = [rows(waiting), rows(eager)];
    const t0 = Date.now();
    const submitTwo = (e: PipelineEngine) => [
      e.submit(item(1), { deadline: t0 + 500, priority: 0 }),
      new Promise<void>((r) => setImmediate(r)).then(() => e.submit(item(2), { deadline: t0 + 500, priority: 0 })),
    ];
    await Promise.all([...submitTwo(waiting), ...submitTwo(eager)]);
    // Latest start = deadline − guard (200) − two stages (2 × 10 ms) = t0 + 280: the second item joined the wait.
    expect(held.map((b) => b.rows)).toEqual([2]);
    expect(held[0]!.at).toBeGreaterThanOrEqual(t0 + 260);
    expect(immediate[0]!.rows).toBe(1);
  });

  it('close() rejects queued requests with CLOSED and settles the batch in flight', async () => {
    const engine = createPipelineEngine({ stages: stages({ fixedMs: 30 }), batchSize: 1 });
    const running = engine.submit(item(1), { deadline: far(), priority: 0 });
    await new Promise((r) => engine.once('batchDispatched', r));
    const queued = rejection(engine.submit(item(2), { deadline: far(), priority: 0 }));
    await engine.close();
    expect((await queued).code).toBe('CLOSED');
    expect(values((await running)['y']!)).toEqual([3, 3]);
    expect((await rejection(engine.submit(item(3), { deadline: far(), priority: 0 }))).code).toBe('CLOSED');
  });

  it('a stage model that does not load fails requests with LOAD_FAILED', async () => {
    const [a] = stages();
    const engine = track(createPipelineEngine({ stages: [a!, { device: device('bad', true), model: { bytes: new Uint8Array([1]) } }], batchSize: 1 }));
    expect((await rejection(engine.submit(item(1), { deadline: far(), priority: 0 }))).code).toBe('LOAD_FAILED');
  });

  it('validates options with INVALID_OPTIONS naming the field', () => {
    expect(() => createPipelineEngine({ stages: [], batchSize: 1 })).toThrow(/stages/);
    expect(() => createPipelineEngine({ stages: stages(), batchSize: 0 })).toThrow(/batchSize/);
  });
});
