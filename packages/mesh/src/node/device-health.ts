import type { DeviceSpec, LocalExecutor } from '@epara/core';

/**
 * Reads which of `devices` the executor has not reported failed (its optional `failedDevices()`, core's
 * `LocalExecutor` port: the runtime's devices that gave up restarting their worker, the fake's after `failDevice`).
 * The node calls the returned function each time it writes its own view entry and each time placement runs, so it
 * is cheap: the executor returns the same array until its set changes, and the filtered list is recomputed only
 * when that identity changes. Returns `devices` itself while none failed, so a caller tells "nothing changed" by
 * identity. An executor without `failedDevices` (or whose answer is not an array, or that throws) has every device
 * healthy.
 */
export function deviceHealth(devices: readonly DeviceSpec[], executor: LocalExecutor): () => readonly DeviceSpec[] {
  const read = typeof executor.failedDevices === 'function' ? executor.failedDevices.bind(executor) : undefined;
  if (read === undefined || devices.length === 0) return () => devices;
  let seen: readonly string[] | undefined;
  let healthy: readonly DeviceSpec[] = devices;
  return () => {
    let failed: unknown;
    try {
      failed = read();
    } catch {
      failed = undefined;
    }
    if (failed === seen) return healthy;
    seen = failed as readonly string[] | undefined;
    const down = Array.isArray(failed) && failed.length > 0 ? new Set<unknown>(failed) : undefined;
    const left = down ? devices.filter((d) => !down.has(d.id)) : devices;
    healthy = left.length === devices.length ? devices : left;
    return healthy;
  };
}
