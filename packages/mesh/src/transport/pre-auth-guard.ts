import type { Duplex } from 'node:stream';
import { EparaError } from '@epara/core';

/** Limits on inbound links that have not authenticated yet. */
export interface PreAuthLimits {
  /** Bytes (frame headers included) a link may send before it authenticates; past it the socket is cut. */
  readonly maxBytes: number;
  /** Inbound links allowed to be unauthenticated at once; further upgrades are refused. */
  readonly maxLinks: number;
}

/** One inbound link's pre-authentication state. */
export interface PreAuthTicket {
  /** True once a handshake started on the link: the limits apply until it succeeds. */
  readonly armed: boolean;
  /** True once the handshake succeeded: the byte cap no longer applies. */
  readonly authenticated: boolean;
  /** A handshake starts on this link. */
  arm(): void;
  /**
   * Accepting finished: a link on which no handshake started is a bare link whose host reads it
   * unauthenticated on purpose (no limits, no slot).
   */
  settle(): void;
  /** The handshake succeeded: lift the byte cap and free the slot. */
  authenticate(): void;
  /** The link is gone (before or after authenticating): free the slot. */
  release(): void;
}

/**
 * Bounds what unauthenticated peers can make this server hold: at most `maxLinks` inbound links without a
 * finished handshake, each allowed at most `maxBytes` on the wire before it. The byte count is taken on the
 * raw socket, so a peer cannot make the WebSocket layer buffer a large frame first (the frame size check
 * of the handshake only sees whole frames).
 */
export class PreAuthGuard {
  readonly #limits: PreAuthLimits;
  #open = 0;

  constructor(limits: PreAuthLimits) {
    this.#limits = limits;
  }

  /** Unauthenticated inbound links now. */
  get pending(): number {
    return this.#open;
  }

  /** Whether one more unauthenticated link fits. */
  hasRoom(): boolean {
    return this.#open < this.#limits.maxLinks;
  }

  /**
   * Takes a slot for a freshly upgraded socket and starts counting its bytes (`head`: bytes already read past
   * the upgrade request). `cut` is called once when the peer sends too much before authenticating.
   */
  admit(socket: Duplex, head: number, cut: (error: EparaError) => void): PreAuthTicket {
    this.#open++;
    let bytes = head;
    let authenticated = false;
    let armed = false;
    let released = false;
    const onData = (chunk: Buffer): void => {
      if (authenticated || released) return;
      bytes += chunk.byteLength;
      if (bytes > this.#limits.maxBytes && armed) {
        ticket.release();
        cut(new EparaError('PROTOCOL_ERROR', `peer sent ${bytes} bytes before authenticating (limit ${this.#limits.maxBytes})`, { bytes, limit: this.#limits.maxBytes }));
      }
    };
    socket.on('data', onData);
    const ticket: PreAuthTicket = {
      get authenticated() {
        return authenticated;
      },
      get armed() {
        return armed;
      },
      arm: () => {
        armed = true;
      },
      settle: () => {
        if (armed || released) return;
        socket.off('data', onData);
        ticket.release();
      },
      authenticate: () => {
        if (authenticated) return;
        authenticated = true;
        socket.off('data', onData);
        ticket.release();
      },
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
      },
    };
    queueMicrotask(() => onData(Buffer.alloc(0)));
    return ticket;
  }
}
