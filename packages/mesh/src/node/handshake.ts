import { encodeFrame } from '../protocol/frame-codec.js';
import { INCARNATION_FLAG_ITEMS, INCARNATION_FLAG_RUNS } from '../protocol/messages.js';
import { resolveProtocolLimits } from '../protocol/protocol-limits.js';
import type { Incarnation } from '../protocol/messages.js';
import { secureConnection } from '../security/secure-connection.js';
import type { Handshake } from './peer-links.js';
import type { ResolvedNodeOptions } from './node-options.js';
import { plainHandshake } from './plain-handshake.js';

/**
 * The node's handshake: PSK challenge-response (`secureConnection`, with per-peer frame size and rate
 * limits) before any other message, or the plain hello of an explicitly insecure node. Its first frame after
 * it is this process's `incarnation`, then the largest frame it takes (`limits`: the smaller of its transport's and
 * its codec's `maxFrameBytes`); a build that does not know a type rejects the frame and keeps the link.
 */
export function createHandshake(o: ResolvedNodeOptions, incarnation: Incarnation): Handshake {
  const s = o.security;
  const codecMax = resolveProtocolLimits(o.limits).maxFrameBytes;
  const transportMax = o.transport.maxFrameBytes;
  const maxFrameBytes = Number.isSafeInteger(transportMax) && transportMax > 0 ? Math.min(codecMax, transportMax) : codecMax;
  const announce = <T extends Awaited<ReturnType<Handshake>>>(link: T): T => {
    // The flags say this build reads entry runs and items in sync tokens, so the peer may send them.
    link.connection.send(encodeFrame({ type: 'incarnation', flags: INCARNATION_FLAG_RUNS | INCARNATION_FLAG_ITEMS, ...incarnation }, o.limits));
    link.connection.send(encodeFrame({ type: 'limits', maxFrameBytes }, o.limits));
    return link;
  };
  if ('insecure' in s) {
    const plain = plainHandshake(o.id, o.timers, 5000);
    return async (connection, direction) => announce(await plain(connection, direction));
  }
  return async (connection, direction) => {
    const link = await secureConnection(connection, {
      psk: s.psk,
      selfId: o.id,
      role: direction === 'outbound' ? 'client' : 'server',
      timeoutMs: s.handshakeTimeoutMs,
      rateLimit: s.rateLimit,
      protocolLimits: o.limits,
    });
    return announce({ peerId: link.peerId, connection: link.connection });
  };
}
