import { EparaError } from '@epara/core';
import type { ServerId } from '@epara/core';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import type { Connection } from '../transport/transport.js';
import type { Timers } from '@epara/core';
import type { Handshake } from './peer-links.js';

/**
 * The handshake of an `insecure: true` node: both sides send `hello` with their id and take the peer's
 * `hello` as its identity. No authentication at all: only for tests and trusted single-host setups.
 *
 * @throws EparaError `PROTOCOL_ERROR` when the first frame is not a hello; `PEER_UNAVAILABLE` on timeout or close.
 */
export function plainHandshake(selfId: ServerId, timers: Timers, timeoutMs: number): Handshake {
  return (connection: Connection) =>
    new Promise((resolve, reject) => {
      let peerId: ServerId | undefined;
      const early: Uint8Array[] = [];
      const done = (err?: EparaError): void => {
        timer.cancel();
        connection.off('frameReceived', onFrame);
        connection.off('closed', onClosed);
        if (err) reject(err);
        else resolve({ peerId: peerId!, connection, early });
      };
      const onFrame = ({ frame }: { frame: Uint8Array }): void => {
        if (peerId !== undefined) return void early.push(frame);
        try {
          const m = decodeFrame(frame);
          if (m.type !== 'hello') return done(new EparaError('PROTOCOL_ERROR', `expected hello, got ${m.type}`));
          peerId = m.peerId;
          // At once, not in the microtask: frames the peer sent right behind its hello are not pre-auth bytes.
          connection.markAuthenticated?.();
          // Later frames of the same delivery batch are kept for the link.
          queueMicrotask(() => done());
        } catch (err) {
          done(err instanceof EparaError ? err : new EparaError('PROTOCOL_ERROR', 'bad hello'));
        }
      };
      const onClosed = (): void => done(new EparaError('PEER_UNAVAILABLE', 'link closed during the handshake'));
      const timer = timers.setTimeout(() => done(new EparaError('PEER_UNAVAILABLE', 'handshake timed out')), timeoutMs);
      connection.beginAuthentication?.();
      connection.on('frameReceived', onFrame);
      connection.once('closed', onClosed);
      try {
        connection.send(encodeFrame({ type: 'hello', peerId: selfId, nonce: new Uint8Array(0) }));
      } catch (err) {
        done(err instanceof EparaError ? err : new EparaError('PEER_UNAVAILABLE', 'send failed'));
      }
    });
}
