import { secureConnection } from '../security/secure-connection.js';
import type { Handshake } from './peer-links.js';
import type { ResolvedNodeOptions } from './node-options.js';
import { plainHandshake } from './plain-handshake.js';

/**
 * The node's handshake: PSK challenge-response (`secureConnection`, with per-peer frame size and rate
 * limits) before any other message, or the plain hello of an explicitly insecure node.
 */
export function createHandshake(o: ResolvedNodeOptions): Handshake {
  const s = o.security;
  if ('insecure' in s) return plainHandshake(o.id, o.timers, 5000);
  return async (connection, direction) => {
    const link = await secureConnection(connection, {
      psk: s.psk,
      selfId: o.id,
      role: direction === 'outbound' ? 'client' : 'server',
      timeoutMs: s.handshakeTimeoutMs,
      rateLimit: s.rateLimit,
      protocolLimits: o.limits,
    });
    return { peerId: link.peerId, connection: link.connection };
  };
}
