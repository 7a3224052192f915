import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createManualClock, isEparaError, type LatencyProfile, type NamedTensors } from '@epara/core';
import { createDevice, profileModel, type DeviceHandle } from '@epara/runtime';
import { models } from '../fixtures/models.js';
import { doubler } from './helpers.js';

const cli = fileURLToPath(new URL('../../packages/runtime/dist/profile-cli.js', import.meta.url));
/** The bin as the workspace root links it (`pnpm exec epara-profile`). */
const rootBin = fileURLToPath(new URL('../../node_modules/.bin/epara-profile', import.meta.url));

describe('profiler', () => {
  it('measures latency against batch size on a device and reports progress', async () => {
    const device = createDevice({ id: 'p', backend: { kind: 'fake' } });
    const progress: number[] = [];
    const profile = await profileModel({
      model: doubler({ fixedMs: 2, perItemMs: 1 }),
      device,
      batchSizes: [4, 1, 2],
      warmup: 1,
      repetitions: 3,
      inputs: (b) => ({ x: { type: 'float32', dims: [b, 2], data: new Float32Array(2 * b) } }),
      onProgress: (done) => progress.push(done),
    });
    await device.close();
    expect(profile.deviceKind).toBe('cpu-1t');
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2, 4]);
    // The fake blocks 2 + 1·b ms: the medians are at least that (a loaded machine only adds to them; how they
    // compare with each other is the timed test's below, on a clock the device moves).
    for (const p of profile.points) expect(p.ms).toBeGreaterThanOrEqual(2 + p.batch - 0.2);
    expect(progress).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
  });

  it('keeps the median of the timed runs per batch size, after the warm-up, made monotone', async () => {
    // A device whose runs take exactly what it says on a manual clock: 2 + 1·b ms, except the warm-up run of
    // each size (40 ms, discarded) and one stalled run of batch 4 (50 ms, outvoted by the median); batch 2's
    // runs are 3 ms, faster than batch 1's 5 ms, and the fitted profile does not let 2 run faster than 1.
    const clock = createManualClock(0);
    const runs = new Map<number, number>();
    const runMs = (b: number, k: number): number => (k === 0 ? 40 : b === 4 && k === 2 ? 50 : b === 1 ? 5 : b === 2 ? 3 : 2 + b);
    const device = {
      provider: 'cpu',
      threads: 1,
      loadModel: () => Promise.resolve({ inputs: [], outputs: [] }),
      unloadModel: () => Promise.resolve(),
      run: (_key: string, feeds: NamedTensors) => {
        const b = feeds['x']!.dims[0]!;
        const k = runs.get(b) ?? 0;
        runs.set(b, k + 1);
        clock.set(clock.now() + runMs(b, k));
        return Promise.resolve({});
      },
    } as unknown as DeviceHandle;
    const profile = await profileModel({
      model: doubler(),
      device,
      clock,
      batchSizes: [1, 2, 4],
      warmup: 1,
      repetitions: 3,
      inputs: (b) => ({ x: { type: 'float32', dims: [b, 2], data: new Float32Array(2 * b) } }),
    });
    expect(profile.points).toEqual([
      { batch: 1, ms: 5 },
      { batch: 2, ms: 5 },
      { batch: 4, ms: 6 },
    ]);
    expect([...runs.values()]).toEqual([4, 4, 4]);
  });

  it('refuses LOAD_FAILED, before asking for any input, a model one item of which is larger than maxRequestBytes (as the executor does at load)', async () => {
    // [N, 1048576, 4096] float32: 16 GiB per item. Measuring it would allocate that.
    const huge = { inputs: [{ name: 'x', type: 'float32', dims: ['N', 1048576, 4096] }], outputs: [{ name: 'y', type: 'float32', dims: ['N', 1] }], memoryBytes: 0, executionProvider: 'cpu' };
    let asked = 0;
    let unloaded = 0;
    const device = {
      provider: 'cpu',
      threads: 1,
      loadModel: () => Promise.resolve(huge),
      unloadModel: () => Promise.resolve(void unloaded++),
      run: () => Promise.reject(new Error('no run expected')),
    } as unknown as DeviceHandle;
    const inputs = (): NamedTensors => {
      asked++;
      throw new Error('asked for inputs');
    };
    const err = await profileModel({ model: doubler(), device, inputs }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.code).toBe('LOAD_FAILED');
    expect(isEparaError(err) && err.details['maxRequestBytes']).toBe(128 * 1024 * 1024);
    expect(String((err as Error).message)).toMatch(/'x' float32\[1, 1048576, 4096\].*17179869184 bytes/);
    expect(asked).toBe(0);
    expect(unloaded).toBe(1); // the device is the caller's: the model is unloaded from it
    // Raised above the item, the model is measured (here: the inputs are asked for).
    const raised = await profileModel({ model: doubler(), device, inputs, maxRequestBytes: 2 ** 40 }).catch((e: unknown) => e);
    expect((raised as Error).message).toBe('asked for inputs');
    expect(asked).toBe(1);
    const bad = await profileModel({ model: doubler(), device, inputs, maxRequestBytes: 0 }).catch((e: unknown) => e);
    expect(isEparaError(bad) && bad.details['field']).toBe('maxRequestBytes');
  });

  it('rejects bad options with INVALID_OPTIONS naming the field', async () => {
    const err = await profileModel({ model: 'x.onnx', batchSizes: [0], inputs: () => ({}) }).catch((e: unknown) => e);
    expect(isEparaError(err) && err.details['field']).toBe('batchSizes');
    const clockErr = await profileModel({ model: 'x.onnx', inputs: () => ({}), clock: 5 as never }).catch((e: unknown) => e);
    expect(isEparaError(clockErr) && clockErr.details['field']).toBe('clock');
  });

  it('the epara-profile CLI writes a profile JSON for a real model', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'epara-profile-')), 'cls.json');
    const args = [cli, '--model', models.ocrCls, '--input', 'x=1x3x48x192', '--batch', '1,2', '--warmup', '1', '--repetitions', '2', '--out', out];
    await promisify(execFile)(process.execPath, args);
    const profile = JSON.parse(await readFile(out, 'utf8')) as LatencyProfile;
    expect(profile.deviceKind).toBe('cpu-1t');
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2]);
    expect(profile.points[1]!.ms).toBeGreaterThanOrEqual(profile.points[0]!.ms);
  });

  it('profiles stateful Silero VAD from the root bin: state stacked on its batch axis, a rank-0 sample rate filled, a line per batch size off a TTY', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'epara-profile-')), 'vad.json');
    const args = ['--model', models.sileroVad, '--input', 'input=1x512', '--fill', 'sr=16000', '--batch', '1,2,4', '--warmup', '1', '--repetitions', '2', '--out', out];
    const { stderr } = await promisify(execFile)(rootBin, args);
    expect(stderr).toContain('input state float32[2x1x128] batched on axis 1');
    expect(stderr).toContain('input sr int64[scalar] shared by the batch');
    for (const b of [1, 2, 4]) expect(stderr).toMatch(new RegExp(`batch ${b}: median [0-9.]+ ms of 2 runs`));
    const profile = JSON.parse(await readFile(out, 'utf8')) as LatencyProfile;
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2, 4]);
  });

  it('hints the per-item dims of an input with free dims, batch axis as 1', async () => {
    const err = await promisify(execFile)(rootBin, ['--model', models.sileroVad, '--out', '/dev/null']).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toContain('pass --input input=1xN');
  });
});
