import { invalidOption } from '@epara/core';

/** Former names of device option fields and the names they now have. */
const RENAMED = { kind: 'provider', deviceId: 'ordinal', profileKind: 'deviceKind' } as const;

/**
 * Device options written before the rename (`kind` for the execution provider, `deviceId` for the CUDA
 * ordinal, `profileKind` for the profile key) keep working: each former field is read as its new name, so a
 * `{ kind: 'cuda' }` from an older host is not silently run on the CPU.
 *
 * @throws EparaError `INVALID_OPTIONS` when a former and a new name are both given with different values.
 */
export function withRenamedDeviceFields<T extends object>(options: T, field: string): T {
  const o = options as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const [old, now] of Object.entries(RENAMED)) {
    if (o[old] === undefined) continue;
    if (o[now] !== undefined && o[now] !== o[old]) invalidOption(`${field}.${old}`, o[old], `the same value as ${field}.${now} (${old} is the former name of ${now})`);
    out ??= { ...o };
    out[now] = o[old];
    delete out[old];
  }
  return (out ?? options) as T;
}
