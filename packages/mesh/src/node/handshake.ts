import { secureConnection } from '../security/secure-connection.js';
import type { Incarnation } from '../protocol/messages.js';
import type { Handshake } from './peer-links.js';
import type { ResolvedNodeOptions } from './node-options.js';
import { plainHandshake } from './plain-handshake.js';

/**
 * The node's handshake: PSK challenge-response (`secureConnection`, with per-peer frame size and rate
 * limits) before any other message, or the plain hello of an explicitly insecure node. Both announce this
 * process's `incarnation` and return the peer's.
 */
export function createHandshake(o: ResolvedNodeOptions, incarnation: Incarnation): Handshake {
  const s = o.security;
  if ('insecure' in s) return plainHandshake({ id: o.id, incarnation }, o.timers, 5000);
  return async (connection, direction) => {
    const link = await secureConnection(connection, {
      psk: s.psk,
      selfId: o.id,
      role: direction === 'outbound' ? 'client' : 'server',
      timeoutMs: s.handshakeTimeoutMs,
      rateLimit: s.rateLimit,
      protocolLimits: o.limits,
      incarnation,
    });
    return { peerId: link.peerId, connection: link.connection, ...(link.peerIncarnation === undefined ? {} : { incarnation: link.peerIncarnation }) };
  };
}
