import { MeshNode } from './mesh-node.js';
import { resolveNodeOptions } from './node-options.js';
import type { NodeOptions } from './node-options.js';

/**
 * Creates an EPARA edge node over a transport and a local executor. Nothing happens until `start()`.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field (a missing `security` included: pass `{ psk }`, or
 * `{ insecure: true }` on purpose).
 * @example
 * ```ts
 * import { createNode, createWebSocketTransport } from '@epara/mesh';
 * const node = createNode({
 *   id: 'edge-1',
 *   transport: createWebSocketTransport({ host: '127.0.0.1', port: 0 }),
 *   executor,                                   // e.g. @epara/runtime createExecutor(...)
 *   security: { psk: process.env.EPARA_PSK! },
 *   seeds: ['ws://10.0.0.2:7400'],
 *   services,
 * });
 * await node.start();
 * const outputs = await node.submit('seg', { x: tensor }, { deadline: Date.now() + 100 });
 * await node.close();
 * ```
 */
export function createNode(options: NodeOptions): MeshNode {
  return new MeshNode(resolveNodeOptions(options));
}
