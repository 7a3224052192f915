import { affineProfile, isEparaError, type NamedTensors } from '@epara/core';
import { afterEach } from 'vitest';
import { createDevice, fakeModelBytes, type DeviceHandle, type FakeModelSpec } from '@epara/runtime';

/**
 * A fake model `y = 2x + 1` over `x f32[batch, 2]`, blocking `fixedMs + perItemMs · batch`; an input of -7
 * makes it throw, -99 kills its worker.
 */
export function doubler(o: Partial<Omit<FakeModelSpec, 'format'>> = {}): Uint8Array {
  return fakeModelBytes({
    inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }],
    outputs: [{ name: 'y', from: 'x', scale: 2, offset: 1 }],
    failIfAnyEquals: -7,
    crashIfAnyEquals: -99,
    ...o,
  });
}

/** One item of {@link doubler}'s input. */
export function item(a: number, b = 0): NamedTensors {
  return { x: { type: 'float32', dims: [1, 2], data: new Float32Array([a, b]) } };
}

/** Values of a float32 output. */
export function values(outputs: NamedTensors, name = 'y'): number[] {
  return Array.from(outputs[name]!.data as Float32Array);
}

/** The code of a rejection, `resolved` when it resolved. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (err: unknown) => (isEparaError(err) ? err.code : `untyped: ${String(err)}`),
  );
}

/** A flat profile of `ms` per batch up to 64 items (for manual-clock tests). */
export const flat = (ms: number) => affineProfile('cpu-1t', { fixedMs: ms, perItemMs: 0, maxBatch: 64 });

/** Resolves on the next occurrence of an event. */
export function nextEvent<T>(emitter: { once(event: never, fn: (e: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event as never, resolve));
}

/** Call inside a `describe`: returns `open`, which creates a device that is closed after each test. */
export function devicesClosedAfterEach(): (o: Parameters<typeof createDevice>[0]) => DeviceHandle {
  const devices: DeviceHandle[] = [];
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.close()));
  });
  return (o) => {
    const d = createDevice(o);
    devices.push(d);
    return d;
  };
}
