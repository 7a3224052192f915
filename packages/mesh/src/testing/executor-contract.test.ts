import type { NamedTensors } from '@epara/core';
import { runExecutorContract } from './executor-contract.js';
import { createFakeExecutor } from './fake-executor.js';
import type { FakeExecutor } from './fake-executor.js';

const input: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };

// The fake, with its executor-wide maxQueue (a service's own would override it).
runExecutorContract('mesh fake executor', {
  create: ({ maxQueue }) => ({
    executor: createFakeExecutor({ maxQueue, services: { s: { serviceTimeMs: 20 } }, hosted: ['s'] }),
    serviceId: 's',
    input,
    maxInFlight: 1,
    close: async () => undefined,
  }),
  failDevice: async ({ executor }) => {
    (executor as FakeExecutor).failDevice('cpu0');
    return 'cpu0';
  },
});
