import { EparaError, isEparaError } from '@epara/core';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import type { DecodedMessage, WireMessage, WireMessageType } from '../protocol/messages.js';
import { abortError } from '../transport/transport-util.js';
import type { Connection, ConnectionClosedEvent, FrameReceivedEvent } from '../transport/transport.js';
import { guardConnection } from './guard-connection.js';
import { newNonce, NONCE_BYTES, proofMatches, proofOf } from './psk-proof.js';
import type { Transcript } from './psk-proof.js';
import { PRE_AUTH_MAX_FRAME_BYTES, resolveSecureConnectionOptions } from './secure-connection-options.js';
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

const unauthenticated = (message: string, details: Record<string, unknown> = {}): EparaError =>
  new EparaError('UNAUTHENTICATED', message, details);

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
  return new Promise<SecureLink>((resolve, reject) => runHandshake(raw, o, resolve, reject));
}

function runHandshake(
  raw: Connection,
  o: ResolvedSecureConnectionOptions,
  resolve: (link: SecureLink) => void,
  reject: (err: EparaError) => void,
): void {
  const ownNonce = newNonce();
  let expecting: WireMessageType = o.role === 'client' ? 'auth-challenge' : 'hello';
  let transcript: Transcript | undefined;
  let peerId = '';
  let settled = false;

  const cleanup = (): void => {
    settled = true;
    clearTimeout(timer);
    raw.off('frameReceived', onFrame);
    raw.off('closed', onClosed);
    o.signal?.removeEventListener('abort', onAbort);
  };
  const send = (m: WireMessage): void => raw.send(encodeFrame(m, o.protocolLimits));
  const fail = (err: EparaError, tellPeer: boolean): void => {
    if (settled) return;
    cleanup();
    if (tellPeer && !raw.isClosed) {
      // The peer learns only the code and a generic reason, never which check failed.
      send({ type: 'error', error: unauthenticated('authentication failed') });
    }
    raw.close(err.code === 'UNAUTHENTICATED' ? 'authentication failed' : err.message);
    reject(err);
  };
  const succeed = (): void => {
    cleanup();
    resolve({ peerId, connection: guardConnection(raw, o) });
  };

  const step = (m: DecodedMessage): void => {
    if (m.type === 'error') return fail(isEparaError(m.error) ? m.error : unauthenticated('peer refused'), false);
    if (m.type !== expecting) return fail(unauthenticated(`expected ${expecting} before any other message, got ${m.type}`), true);
    if (m.type === 'hello') {
      if (m.nonce.byteLength !== NONCE_BYTES || m.peerId === '') return fail(unauthenticated('malformed hello'), true);
      peerId = m.peerId;
      transcript = { clientNonce: m.nonce, serverNonce: ownNonce, clientId: m.peerId, serverId: o.selfId };
      expecting = 'auth-response';
      return send({ type: 'auth-challenge', peerId: o.selfId, nonce: ownNonce });
    }
    if (m.type === 'auth-challenge') {
      if (m.nonce.byteLength !== NONCE_BYTES || m.peerId === '') return fail(unauthenticated('malformed challenge'), true);
      if (o.expectedPeerId !== undefined && m.peerId !== o.expectedPeerId) {
        return fail(unauthenticated(`dialed ${o.expectedPeerId} but the peer is ${m.peerId}`, { peerId: m.peerId }), true);
      }
      peerId = m.peerId;
      transcript = { clientNonce: ownNonce, serverNonce: m.nonce, clientId: o.selfId, serverId: m.peerId };
      expecting = 'auth-ok';
      return send({ type: 'auth-response', proof: proofOf(o.key, 'client', transcript) });
    }
    const t = transcript as Transcript;
    if (m.type === 'auth-response') {
      if (!proofMatches(proofOf(o.key, 'client', t), m.proof)) return fail(unauthenticated(`peer ${peerId} does not hold the key`, { peerId }), true);
      send({ type: 'auth-ok', proof: proofOf(o.key, 'server', t) });
      return succeed();
    }
    if (m.type === 'auth-ok') {
      if (!proofMatches(proofOf(o.key, 'server', t), m.proof)) return fail(unauthenticated(`peer ${peerId} does not hold the key`, { peerId }), false);
      return succeed();
    }
  };

  const onFrame = ({ frame }: FrameReceivedEvent): void => {
    if (frame.byteLength > PRE_AUTH_MAX_FRAME_BYTES) return fail(unauthenticated(`oversized frame (${frame.byteLength} bytes) before authentication`), true);
    let m: DecodedMessage;
    try {
      m = decodeFrame(frame, o.protocolLimits);
    } catch (err) {
      return fail(unauthenticated(`malformed frame before authentication: ${(err as Error).message}`), true);
    }
    try {
      step(m);
    } catch (err) {
      fail(isEparaError(err) ? err : unauthenticated(String(err)), false);
    }
  };
  const onClosed = (e: ConnectionClosedEvent): void =>
    fail(new EparaError('PEER_UNAVAILABLE', `link closed during authentication: ${e.reason}`, { reason: e.reason }), false);
  const onAbort = (): void => fail(abortError(o.signal as NonNullable<typeof o.signal>), false);
  const timer = setTimeout(() => fail(unauthenticated(`authentication did not finish within ${o.timeoutMs} ms`), true), o.timeoutMs);

  if (o.signal?.aborted === true) return onAbort();
  if (raw.isClosed) return onClosed({ reason: 'already closed', initiatedLocally: true });
  raw.on('frameReceived', onFrame);
  raw.once('closed', onClosed);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.role === 'client') send({ type: 'hello', peerId: o.selfId, nonce: ownNonce });
}
