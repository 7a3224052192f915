import { EparaError, isEparaError } from '@epara/core';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import type { AuthChallengeMessage, AuthOkMessage, AuthResponseMessage, DecodedMessage, HelloMessage, WireMessage, WireMessageType } from '../protocol/messages.js';
import { abortError } from '../transport/transport-util.js';
import type { Connection, ConnectionClosedEvent, FrameReceivedEvent } from '../transport/transport.js';
import { newNonce, NONCE_BYTES, proofMatches, proofOf } from './psk-proof.js';
import type { Transcript } from './psk-proof.js';
import { PRE_AUTH_MAX_FRAME_BYTES } from './secure-connection-options.js';
import type { ResolvedSecureConnectionOptions } from './secure-connection-options.js';

/** The error of every failed check; the message stays local, the peer only ever sees a generic one. */
export const unauthenticated = (message: string, details: Record<string, unknown> = {}): EparaError =>
  new EparaError('UNAUTHENTICATED', message, details);

/**
 * One run of the PSK handshake on one raw connection (see `secureConnection` for the exchange). It owns
 * the connection's listeners until it settles: exactly one of `onDone` / `onFailed` is called, and on
 * failure the connection is closed.
 */
export class Handshake {
  readonly #raw: Connection;
  readonly #o: ResolvedSecureConnectionOptions;
  readonly #onDone: (peerId: string) => void;
  readonly #onFailed: (err: EparaError) => void;
  readonly #nonce = newNonce();
  #expecting: WireMessageType;
  #transcript: Transcript | undefined;
  #peerId = '';
  #settled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(raw: Connection, o: ResolvedSecureConnectionOptions, onDone: (peerId: string) => void, onFailed: (err: EparaError) => void) {
    this.#raw = raw;
    this.#o = o;
    this.#onDone = onDone;
    this.#onFailed = onFailed;
    this.#expecting = o.role === 'client' ? 'auth-challenge' : 'hello';
  }

  start(): void {
    const { signal, timeoutMs, role, selfId } = this.#o;
    if (signal?.aborted === true) return this.#onAbort();
    if (this.#raw.isClosed) return this.#onClosed({ reason: 'already closed', initiatedLocally: true });
    this.#raw.beginAuthentication?.();
    this.#timer = setTimeout(() => this.#fail(unauthenticated(`authentication did not finish within ${timeoutMs} ms`), true), timeoutMs);
    this.#raw.on('frameReceived', this.#onFrame);
    this.#raw.once('closed', this.#onClosed);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (role === 'client') this.#send({ type: 'hello', peerId: selfId, nonce: this.#nonce });
  }

  readonly #onFrame = ({ frame }: FrameReceivedEvent): void => {
    if (frame.byteLength > PRE_AUTH_MAX_FRAME_BYTES) {
      return this.#fail(unauthenticated(`oversized frame (${frame.byteLength} bytes) before authentication`), true);
    }
    let m: DecodedMessage;
    try {
      m = decodeFrame(frame, this.#o.protocolLimits);
    } catch (err) {
      return this.#fail(unauthenticated(`malformed frame before authentication: ${(err as Error).message}`), true);
    }
    try {
      this.#step(m);
    } catch (err) {
      this.#fail(isEparaError(err) ? err : unauthenticated(String(err)), false);
    }
  };

  readonly #onClosed = (e: ConnectionClosedEvent): void =>
    this.#fail(new EparaError('PEER_UNAVAILABLE', `link closed during authentication: ${e.reason}`, { reason: e.reason }), false);

  readonly #onAbort = (): void => this.#fail(abortError(this.#o.signal as NonNullable<ResolvedSecureConnectionOptions['signal']>), false);

  #step(m: DecodedMessage): void {
    if (m.type === 'error') return this.#fail(m.error, false);
    if (m.type !== this.#expecting) {
      return this.#fail(unauthenticated(`expected ${this.#expecting} before any other message, got ${m.type}`), true);
    }
    if (m.type === 'hello') return this.#onHello(m);
    if (m.type === 'auth-challenge') return this.#onChallenge(m);
    if (m.type === 'auth-response') return this.#onResponse(m);
    if (m.type === 'auth-ok') return this.#onOk(m);
  }

  #onHello(m: HelloMessage): void {
    if (m.nonce.byteLength !== NONCE_BYTES || m.peerId === '') return this.#fail(unauthenticated('malformed hello'), true);
    this.#peerId = m.peerId;
    this.#transcript = { clientNonce: m.nonce, serverNonce: this.#nonce, clientId: m.peerId, serverId: this.#o.selfId };
    this.#expecting = 'auth-response';
    this.#send({ type: 'auth-challenge', peerId: this.#o.selfId, nonce: this.#nonce });
  }

  #onChallenge(m: AuthChallengeMessage): void {
    const expected = this.#o.expectedPeerId;
    if (m.nonce.byteLength !== NONCE_BYTES || m.peerId === '') return this.#fail(unauthenticated('malformed challenge'), true);
    if (expected !== undefined && m.peerId !== expected) {
      return this.#fail(unauthenticated(`dialed ${expected} but the peer is ${m.peerId}`, { peerId: m.peerId }), true);
    }
    this.#peerId = m.peerId;
    this.#transcript = { clientNonce: this.#nonce, serverNonce: m.nonce, clientId: this.#o.selfId, serverId: m.peerId };
    this.#expecting = 'auth-ok';
    this.#send({ type: 'auth-response', proof: proofOf(this.#o.key, 'client', this.#transcript) });
  }

  #onResponse(m: AuthResponseMessage): void {
    const t = this.#transcript as Transcript;
    if (!proofMatches(proofOf(this.#o.key, 'client', t), m.proof)) return this.#wrongKey(true);
    this.#send({ type: 'auth-ok', proof: proofOf(this.#o.key, 'server', t) });
    this.#succeed();
  }

  #onOk(m: AuthOkMessage): void {
    if (!proofMatches(proofOf(this.#o.key, 'server', this.#transcript as Transcript), m.proof)) return this.#wrongKey(false);
    this.#succeed();
  }

  #wrongKey(tellPeer: boolean): void {
    this.#fail(unauthenticated(`peer ${this.#peerId} does not hold the key`, { peerId: this.#peerId }), tellPeer);
  }

  #send(m: WireMessage): void {
    this.#raw.send(encodeFrame(m, this.#o.protocolLimits));
  }

  #cleanup(): void {
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#raw.off('frameReceived', this.#onFrame);
    this.#raw.off('closed', this.#onClosed);
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
  }

  #succeed(): void {
    this.#cleanup();
    this.#raw.markAuthenticated?.();
    this.#onDone(this.#peerId);
  }

  #fail(err: EparaError, tellPeer: boolean): void {
    if (this.#settled) return;
    this.#cleanup();
    // The peer learns only the code and a generic reason, never which check failed.
    if (tellPeer && !this.#raw.isClosed) this.#send({ type: 'error', error: unauthenticated('authentication failed') });
    this.#raw.close(err.code === 'UNAUTHENTICATED' ? 'authentication failed' : err.message);
    this.#onFailed(err);
  }
}
