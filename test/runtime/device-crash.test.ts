import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { createDevice, fakeModelBytes, type DeviceHandle, type WorkerRestartedEvent } from '@epara/runtime';

const model = (crashMode: 'exit' | 'throw'): Uint8Array =>
  fakeModelBytes({
    inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }],
    outputs: [{ name: 'y', from: 'x', scale: 3 }],
    fixedMs: 1,
    crashIfAnyEquals: 99,
    failIfAnyEquals: 7,
    crashMode,
  });

const feeds = (a: number) => ({ x: { type: 'float32' as const, dims: [1, 2], data: new Float32Array([a, 1]) } });

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (err: unknown) => (isEparaError(err) ? err.code : 'untyped'),
  );
}

describe('device worker crashes', () => {
  const devices: DeviceHandle[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
  });

  for (const mode of ['exit', 'throw'] as const) {
    it(`restarts after process.exit / an uncaught throw (${mode}), fails in-flight calls, reloads models`, async () => {
      const d = createDevice({ id: `c-${mode}`, backend: { kind: 'fake' } });
      devices.push(d);
      await d.loadModel('m', { bytes: model(mode) });
      const restarted = new Promise<WorkerRestartedEvent>((resolve) => d.once('workerRestarted', resolve));
      const crashing = d.run('m', feeds(99));
      const queuedBehind = d.run('m', feeds(2));
      expect(await codeOf(crashing)).toBe('WORKER_CRASHED');
      expect(await codeOf(queuedBehind)).toBe('WORKER_CRASHED');
      expect(await restarted).toEqual({ deviceId: `c-${mode}`, restarts: 1, reloadedModels: 1, warmedSizes: 0 });
      const out = await d.run('m', feeds(5));
      expect(Array.from(out['y']!.data as Float32Array)).toEqual([15, 3]);
    });
  }

  it('a model error fails only that call', async () => {
    const d = createDevice({ id: 'e', backend: { kind: 'fake' } });
    devices.push(d);
    await d.loadModel('m', { bytes: model('exit') });
    const [bad, good] = await Promise.all([codeOf(d.run('m', feeds(7))), d.run('m', feeds(1))]);
    expect(bad).toBe('MODEL_ERROR');
    expect(Array.from(good['y']!.data as Float32Array)).toEqual([3, 3]);
  });

  it('gives up after maxRestarts consecutive crashes, rejecting with WORKER_CRASHED instead of hanging', async () => {
    const d = createDevice({ id: 'g', backend: { kind: 'fake' }, maxRestarts: 1 });
    devices.push(d);
    await d.loadModel('m', { bytes: model('exit') });
    expect(await codeOf(d.run('m', feeds(99)))).toBe('WORKER_CRASHED');
    expect(await codeOf(d.run('m', feeds(99)))).toBe('WORKER_CRASHED');
    expect(await codeOf(d.run('m', feeds(1)))).toBe('WORKER_CRASHED');
  });
});
