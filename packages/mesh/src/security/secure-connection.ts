import type { Connection } from '../transport/transport.js';
import { guardConnection } from './guard-connection.js';
import { Handshake } from './handshake.js';
import { resolveSecureConnectionOptions } from './secure-connection-options.js';
import type { ResolvedSecureConnectionOptions, SecureConnectionOptions } from './secure-connection-options.js';

/** An authenticated link: who the peer proved to be, and the connection to talk to it on. */
export interface SecureLink {
  /** The id the peer announced, bound into its proof of the key. */
  readonly peerId: string;
  /**
   * The authenticated connection: delivers only frames after the handshake, and closes with
   * `RATE_LIMITED` when the peer exceeds its frame size or rate limits. Closing it closes the raw link.
   */
  readonly connection: Connection;
}

/**
 * Runs the mutual pre-shared-key handshake on a fresh connection, before any other message:
 *
 * 1. client → `hello { peerId, nonce Nc }`
 * 2. server → `auth-challenge { peerId, nonce Ns }`
 * 3. client → `auth-response { HMAC(psk, client, Nc, Ns, ids) }`: the dialer proves the key first, so an
 *    unauthenticated dialer learns nothing about it
 * 4. server → `auth-ok { HMAC(psk, server, Nc, Ns, ids) }`: the server proves the key in turn
 *
 * A wrong proof, an unexpected message, a malformed or oversized frame, or the timeout: the peer gets an
 * `error` frame (`UNAUTHENTICATED`) where that is safe, the link is closed and the promise rejects.
 *
 * @example
 * ```ts
 * transport.on('connectionAccepted', async ({ connection }) => {
 *   const { peerId, connection: secure } = await secureConnection(connection, { psk, selfId: 'edge-1', role: 'server' });
 * });
 * const link = await secureConnection(await transport.connect(address), { psk, selfId: 'edge-2', role: 'client' });
 * ```
 * @throws EparaError `UNAUTHENTICATED` (wrong key, protocol violation, timeout, unexpected peer id);
 * `PEER_UNAVAILABLE` when the link closes during the handshake; `ABORTED`; `INVALID_OPTIONS`.
 */
export function secureConnection(raw: Connection, options: SecureConnectionOptions): Promise<SecureLink> {
  let o: ResolvedSecureConnectionOptions;
  try {
    o = resolveSecureConnectionOptions(options);
  } catch (err) {
    raw.close('bad security options');
    return Promise.reject(err);
  }
  return new Promise<SecureLink>((resolve, reject) => {
    const done = (peerId: string): void => resolve({ peerId, connection: guardConnection(raw, o) });
    new Handshake(raw, o, done, reject).start();
  });
}
