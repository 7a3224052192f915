import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors, StreamResult, TensorLike } from '@epara/core';
import { createExecutor, type BatchDispatchedEvent, type Executor } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { expectSameOutputs, reference, type Reference } from './ground-truth.js';

/*
 * The other Silero VAD files the package ships, each a real model the executor has not met elsewhere: the
 * opset-18 export without `If` nodes, the half-precision one (no `sr` input, symbolic names of its own), and the
 * current export whose every free dim is unnamed (`input [?, ?]`, `state [2, ?, 128]`, `stateN [?, ?, ?]`). Each
 * serves three streams at once, frames packed across streams, the recurrent state carried per stream: every
 * frame's answer must be raw onnxruntime-node's with the state fed back by hand.
 */

const dir = dirname(models.sileroVad);
const FILES = { vad: 'silero_vad.onnx', vad18: 'silero_vad_op18_ifless.onnx', vadHalf: 'silero_vad_half.onnx' } as const;
type Variant = keyof typeof FILES;
const HAS_SR: Record<Variant, boolean> = { vad: true, vad18: true, vadHalf: false };
const FRAMES = 4;
const STREAMS = 3;

const frame = (variant: Variant, stream: number, k: number): NamedTensors => ({
  input: { type: 'float32', dims: [1, 512], data: seededFloats(512, 1000 * stream + k + 1) },
  ...(HAS_SR[variant] ? { sr: { type: 'int64', dims: [], data: new BigInt64Array([16000n]) } as TensorLike } : {}),
});

describe('Silero VAD variants as stateful streams (real onnxruntime-node, against raw onnxruntime-node)', () => {
  let executor: Executor;
  const refs = new Map<Variant, Reference>();
  const variants = Object.keys(FILES) as Variant[];
  beforeAll(async () => {
    for (const v of variants) refs.set(v, await reference(join(dir, FILES[v])));
    executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      services: variants.map((v) => ({
        id: v,
        model: join(dir, FILES[v]),
        sensitivity: 'frequency' as const,
        slo: { kind: 'frequency' as const, rateHz: 31.25, stalenessMs: 60_000 },
        plan: { batchSize: STREAMS, capacityPerSec: 1000 },
        stateful: { state: { state: 'stateN' } },
        sampleInputs: frame(v, 0, 0),
        devices: ['cpu0'],
      })),
    });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    for (const r of refs.values()) await r.release();
  });

  it.each(variants)('%s: every frame of every stream gets raw onnxruntime-node\'s answer, frames packed across streams', async (variant) => {
    const sizes: number[] = [];
    const onBatch = (e: BatchDispatchedEvent): void => {
      if (e.serviceId === variant) sizes.push(e.size);
    };
    executor.on('batchDispatched', onBatch);
    const streams = Array.from({ length: STREAMS }, () => executor.openStream(variant, { rateHz: 31.25 }));
    const collected = streams.map(async (s) => {
      const out: StreamResult[] = [];
      for await (const r of s) out.push(r);
      return out;
    });
    for (let k = 0; k < FRAMES; k++) streams.forEach((s, j) => s.push(frame(variant, j, k)));
    await Promise.all(streams.map((s) => s.close()));
    const results = await Promise.all(collected);
    executor.off('batchDispatched', onBatch);
    const ref = refs.get(variant)!;
    for (let j = 0; j < STREAMS; j++) {
      let state: TensorLike = { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) };
      for (let k = 0; k < FRAMES; k++) {
        const expected = await ref.run({ ...frame(variant, j, k), state });
        state = expected['stateN']!;
        const r = results[j]![k]!;
        if (!r.ok) throw new Error(`stream ${j} frame ${k}: ${r.error.code} ${r.error.message}`);
        expectSameOutputs(r.outputs, expected, 1e-5);
      }
    }
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });
});
