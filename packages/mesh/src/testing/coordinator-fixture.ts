import { affineProfile } from '@epara/core';
import type { ServerEntry, ServiceSpec } from '@epara/core';

/** One small latency service on a CPU profile, for placement coordinator tests. */
export const COORDINATOR_SERVICE: ServiceSpec = {
  id: 'echo',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 200 },
  memory: { weightsBytes: 10e6, perItemBytes: 1e6 },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 5, perItemMs: 1, maxBatch: 8 }) },
};

/** A view entry for `serverId` with no instances and no load. */
export const serverEntry = (serverId: string, alive: boolean, epoch = 1): ServerEntry => ({
  serverId, epoch, version: 1, updatedAt: 0, alive, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {},
});
