import { affineProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';

const GB = 1e9;

/**
 * For core's classify tests: a latency service with affine profiles on a CPU (4 + 6·b ms) and a GPU (2 + 0.5·b ms),
 * 0.1 GB of weights and 0.02 GB per item, with a 100 ms deadline…
 */
export const segService: ServiceSpec = {
  id: 'seg',
  sensitivity: 'latency',
  slo: { kind: 'latency', deadlineMs: 100 },
  memory: { weightsBytes: 0.1 * GB, perItemBytes: 0.02 * GB },
  profiles: { cpu: affineProfile('cpu', { fixedMs: 4, perItemMs: 6 }), gpu: affineProfile('gpu', { fixedMs: 2, perItemMs: 0.5 }) },
};

/** …and the two device kinds it is classified against: a 4 GB CPU and an 8 GB GPU. */
export const segDeviceKinds = [{ kind: 'cpu', memoryBytes: 4 * GB }, { kind: 'gpu', memoryBytes: 8 * GB }];
