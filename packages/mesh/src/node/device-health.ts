import type { DeviceSpec, LocalExecutor } from '@epara/core';

/**
 * The devices among `devices` that the executor does not report failed. An executor that reports device health
 * — the runtime's `stats().devices[id].failed` (set once a device gave up restarting its worker, `deviceFailed`), the
 * fake's after `failDevice` — is read on every call; one that does not (or whose `stats()` throws) has every device
 * healthy. Returns `devices` itself when none failed, so a caller tells "nothing changed" by identity.
 */
export function healthyDevices(devices: readonly DeviceSpec[], executor: LocalExecutor): readonly DeviceSpec[] {
  if (devices.length === 0) return devices;
  const failed = failedDevices(executor);
  if (failed === undefined) return devices;
  const healthy = devices.filter((d) => !failed.has(d.id));
  return healthy.length === devices.length ? devices : healthy;
}

/** The ids of the devices the executor reports failed; `undefined` when none is (or it reports no device health). */
function failedDevices(executor: LocalExecutor): ReadonlySet<string> | undefined {
  const stats = (executor as { stats?: unknown }).stats;
  if (typeof stats !== 'function') return undefined;
  let devices: unknown;
  try {
    devices = (stats.call(executor) as { devices?: unknown } | undefined)?.devices;
  } catch {
    return undefined;
  }
  if (typeof devices !== 'object' || devices === null) return undefined;
  let failed: Set<string> | undefined;
  for (const [id, d] of Object.entries(devices)) if ((d as { failed?: unknown } | undefined)?.failed === true) (failed ??= new Set()).add(id);
  return failed;
}
