import { invalidOption } from '../errors/epara-error.js';
import type { DeviceSpec, ServerSpec } from '../model/device.js';
import type { DeviceKindSpec } from '../allocation/validate-input.js';

/**
 * The distinct `{ kind, memoryBytes }` pairs of the healthy devices of healthy servers, sorted by kind then
 * memory: the `deviceKinds` input of {@link classify} and {@link allocate}. Two devices of one kind with
 * different memory sizes give two entries (a plan that fits one may not fit the other). `maxPerServer` is the
 * most healthy devices of that kind with at least that memory on one server (the bound on replicas and stages
 * of one instance).
 *
 * @throws EparaError `INVALID_OPTIONS` when `servers` is not an array of servers with device arrays.
 * @example
 * ```ts
 * const kinds = deviceKindsOf([{ id: 'a', devices: [{ id: 'g0', kind: 'edge-gpu', memoryBytes: 16e9 }] }]);
 * // [{ kind: 'edge-gpu', memoryBytes: 16e9, maxPerServer: 1 }]
 * ```
 */
export function deviceKindsOf(servers: readonly ServerSpec[]): DeviceKindSpec[] {
  if (!Array.isArray(servers)) invalidOption('servers', servers, 'an array of ServerSpec');
  const healthy: (readonly DeviceSpec[])[] = [];
  servers.forEach((server, i) => {
    if (!Array.isArray(server?.devices)) invalidOption(`servers[${i}].devices`, server?.devices, 'an array of DeviceSpec');
    if (server.healthy !== false) healthy.push(server.devices.filter((d: DeviceSpec) => d.healthy !== false));
  });
  const seen = new Map<string, { kind: string; memoryBytes: number; maxPerServer: number }>();
  for (const devices of healthy) {
    for (const d of devices) {
      const key = `${d.kind}\u0000${d.memoryBytes}`;
      const count = devices.filter((x) => x.kind === d.kind && x.memoryBytes >= d.memoryBytes).length;
      const prev = seen.get(key);
      if (prev === undefined) seen.set(key, { kind: d.kind, memoryBytes: d.memoryBytes, maxPerServer: count });
      else prev.maxPerServer = Math.max(prev.maxPerServer, count);
    }
  }
  return [...seen.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.memoryBytes - b.memoryBytes));
}
