import { invalidOption } from '../errors/epara-error.js';
import type { ServerSpec } from '../model/device.js';
import type { DeviceKindSpec } from '../allocation/validate-input.js';

/**
 * The distinct `{ kind, memoryBytes }` pairs of the healthy devices of healthy servers, sorted by kind then
 * memory: the `deviceKinds` input of {@link classify} and {@link allocate}. Two devices of one kind with
 * different memory sizes give two entries (a plan that fits one may not fit the other).
 *
 * @throws EparaError `INVALID_OPTIONS` when `servers` is not an array of servers with device arrays.
 * @example
 * ```ts
 * const kinds = deviceKindsOf([{ id: 'a', devices: [{ id: 'g0', kind: 'edge-gpu', memoryBytes: 16e9 }] }]);
 * // [{ kind: 'edge-gpu', memoryBytes: 16e9 }]
 * ```
 */
export function deviceKindsOf(servers: readonly ServerSpec[]): DeviceKindSpec[] {
  if (!Array.isArray(servers)) invalidOption('servers', servers, 'an array of ServerSpec');
  const seen = new Map<string, DeviceKindSpec>();
  servers.forEach((server, i) => {
    if (!Array.isArray(server?.devices)) invalidOption(`servers[${i}].devices`, server?.devices, 'an array of DeviceSpec');
    if (server.healthy === false) return;
    for (const d of server.devices) {
      if (d.healthy === false) continue;
      const key = `${d.kind}\u0000${d.memoryBytes}`;
      if (!seen.has(key)) seen.set(key, { kind: d.kind, memoryBytes: d.memoryBytes });
    }
  });
  return [...seen.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.memoryBytes - b.memoryBytes));
}
