import type { ClusterView, NamedTensors } from '@epara/core';
import { afterAll, beforeAll } from 'vitest';
import { createGateway, type Gateway } from '../gateway.js';

/**
 * For tests that speak raw HTTP to the front: a gateway over a node that echoes `x` as `y` (model `m`, input
 * `x` FP32 [-1, 2]), HTTP only on a free port, started before the file's tests and closed after them. Call at
 * the top of a test file; read `port` inside the tests.
 */
export function echoGatewayForFile(): { readonly port: number } {
  let gateway: Gateway | undefined;
  let port = 0;
  beforeAll(async () => {
    const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: async (_s: string, inputs: NamedTensors): Promise<NamedTensors> => ({ y: inputs['x']! }) };
    gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false });
    port = Number(new URL((await gateway.start()).http!).port);
  });
  afterAll(() => gateway?.close());
  return {
    get port() {
      return port;
    },
  };
}
