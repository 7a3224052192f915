import { EparaError } from '@epara/core';
import { encodeFrame, sendFrameParts } from '../protocol/frame-codec.js';
import { createConnection } from '../transport/create-connection.js';
import type { Connection } from '../transport/transport.js';
import { createRateLimiter } from './rate-limiter.js';
import type { ResolvedSecureConnectionOptions } from './secure-connection-options.js';

/**
 * Wraps an authenticated raw connection: frames pass through, except that a frame above the per-peer size
 * limit or beyond the peer's rate closes the link with `RATE_LIMITED` (the peer is told, best effort).
 */
export function guardConnection(raw: Connection, o: ResolvedSecureConnectionOptions): Connection {
  const limiter = o.rateLimit === false ? undefined : createRateLimiter(o.rateLimit);
  const ctl = createConnection({
    remoteAddress: raw.remoteAddress,
    direction: raw.direction,
    maxFrameBytes: Math.min(o.maxFrameBytes, 0xffffffff),
    idPrefix: `secure-${raw.direction}`,
    sink: { write: (f) => raw.send(f), writeParts: (parts) => sendFrameParts(raw, { parts, byteLength: parts.reduce((n, p) => n + p.byteLength, 0) }), close: (r) => raw.close(r), bufferedBytes: () => raw.bufferedBytes, authenticating: () => raw.beginAuthentication?.(), authenticated: () => raw.markAuthenticated?.() },
  });
  const abuse = (error: EparaError): void => {
    try {
      raw.send(encodeFrame({ type: 'error', error }, o.protocolLimits));
    } catch {
      // Already closing: the peer will see the close without the explanation.
    }
    ctl.closedByMedium({ reason: error.message, error });
    raw.close('rate limited');
  };
  raw.on('frameReceived', ({ frame }) => {
    if (frame.byteLength > o.maxFrameBytes) {
      return abuse(new EparaError('RATE_LIMITED', `frame of ${frame.byteLength} bytes exceeds the per-peer limit of ${o.maxFrameBytes}`, { frameBytes: frame.byteLength }));
    }
    if (limiter !== undefined && !limiter.tryAccept(frame.byteLength)) {
      return abuse(new EparaError('RATE_LIMITED', 'peer exceeded its frame or byte rate', { ...limiter.available() }));
    }
    ctl.receive(frame);
  });
  raw.once('closed', (e) => ctl.closedByMedium({ reason: e.reason, ...(e.error === undefined ? {} : { error: e.error }) }));
  return ctl.connection;
}
