import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { EparaError } from '@epara/core';
import { createConnection } from '@epara/mesh/wire';
import type { ConnectionController } from '@epara/mesh/wire';
import type { Connection } from '@epara/mesh';

/** Kinds of the messages one virtual link exchanges (first byte of every NATS payload). */
const DATA = 1;
const CLOSE = 2;
const PING = 3;
/** Close codes carried in a CLOSE message's second byte. */
const CLOSE_CODES = [undefined, 'PROTOCOL_ERROR', 'PEER_UNAVAILABLE'] as const;
/** kind u8, close code u8, reserved u16, seq u32, frame length u32. */
const HEADER = 12;

/** Settings a link takes from its transport. */
export interface NatsLinkConfig {
  readonly nc: NatsConnection;
  readonly direction: 'inbound' | 'outbound';
  /** The transport address (dialer) or acceptor name, for logs. */
  readonly remoteAddress: string;
  /** Where this side publishes; the peer's receive subject. */
  readonly peerSubject: string;
  /**
   * This side's receive subject. Every message this side sends names it (as the NATS reply subject, or in a
   * probe's payload), and a message naming another sender is not this link's: see {@link NatsLink.receive}.
   */
  readonly ownSubject: string;
  readonly maxFrameBytes: number;
  /** Largest NATS payload the server accepts (frames are split under it). */
  readonly maxPayloadBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly deadPeerTimeoutMs: number;
  /** Called once the link is closed, either way. */
  readonly onClosed: () => void;
  /**
   * Limits while a handshake runs on the link (started, not finished): bytes it may receive, frame lengths
   * included; `onAuthenticated` once it finished. @default no limit
   */
  readonly preAuth?: { readonly maxBytes: number; readonly onArmed: () => void; readonly onAuthenticated: () => void };
}

/**
 * One virtual duplex connection over NATS core: frames go to the peer's receive subject with a sequence
 * number (split in chunks under the server's max_payload); NATS delivers a publisher's messages in order, so
 * a gap means loss (a slow-consumer cut, a reconnect) and closes the link with `PEER_UNAVAILABLE` rather than
 * silently dropping a frame. Liveness: a link that heard nothing for a keepalive interval probes the peer
 * with a request; no responders, an unknown-link answer or a timeout closes it with `PEER_UNAVAILABLE`.
 */
export class NatsLink {
  readonly connection: Connection;
  readonly #c: NatsLinkConfig;
  readonly #ctl: ConnectionController;
  #sendSeq = 0;
  #recvSeq = 0;
  #assembly: { buf: Uint8Array; filled: number } | undefined;
  /** When the peer was last heard, `performance.now()`: monotonic, so a wall-clock step neither hides a dead peer nor fakes one. */
  #heardAt = performance.now();
  #probing = false;
  #timer: ReturnType<typeof setInterval>;
  /** A handshake started on the link and has not finished: the pre-authentication byte cap applies. */
  #authenticating = false;
  #preAuthBytes = 0;

  constructor(config: NatsLinkConfig) {
    this.#c = config;
    this.#ctl = createConnection({
      remoteAddress: config.remoteAddress,
      direction: config.direction,
      maxFrameBytes: config.maxFrameBytes,
      idPrefix: `nats-${config.direction}`,
      sink: {
        write: (frame) => this.#write(frame),
        close: (reason) => this.#sendClose(0, reason),
        authenticating: () => {
          if (config.preAuth === undefined || this.#authenticating) return;
          this.#authenticating = true;
          config.preAuth.onArmed();
        },
        authenticated: () => {
          if (!this.#authenticating) return;
          this.#authenticating = false;
          config.preAuth?.onAuthenticated();
        },
      },
    });
    this.connection = this.#ctl.connection;
    this.connection.once('closed', () => {
      clearInterval(this.#timer);
      config.onClosed();
    });
    this.#timer = setInterval(() => this.#keepalive(), config.keepaliveIntervalMs);
    this.#timer.unref?.();
  }

  /**
   * A message arrived on this link's receive subject. One that names a sender other than the peer is dropped
   * (a probe from it is told the link is unknown): two processes can listen under one name — a server restarted
   * under it while its old process was stopped — and both take a dialer's hello; the one the dialer did not link
   * to makes a link toward the same receive subject (a resumed process does so with the hellos it finds waiting),
   * and its frames, numbered from #1 as the linked one's were, broke the dialer's link with a sequence gap, and
   * its CLOSE closed it. A message naming no sender (an older build) is taken as before.
   */
  receive(msg: Msg): void {
    const d = msg.data;
    if (d.byteLength < 1) return this.#fail('PROTOCOL_ERROR', 'empty link message');
    if (d[0] === PING) {
      const from = d.byteLength > HEADER ? new TextDecoder().decode(d.subarray(HEADER)) : undefined;
      const ours = from === undefined || from === this.#c.peerSubject;
      if (ours) this.#heardAt = performance.now();
      msg.respond(new Uint8Array([ours ? 1 : 0]));
      return;
    }
    if (msg.reply && msg.reply !== this.#c.peerSubject) return;
    this.#heardAt = performance.now();
    if (d[0] === CLOSE) {
      const code = CLOSE_CODES[d[1] ?? 0];
      const reason = new TextDecoder().decode(d.subarray(HEADER));
      return this.#ctl.closedByMedium({ reason, ...(code ? { error: new EparaError(code, `peer closed the link: ${reason}`) } : {}) });
    }
    if (d[0] !== DATA || d.byteLength < HEADER) return this.#fail('PROTOCOL_ERROR', `unknown link message kind ${d[0]}`);
    this.#onData(d);
  }

  /** The medium went away under this link (NATS connection lost or transport closing). */
  drop(error: EparaError, notifyPeer: boolean): void {
    if (this.connection.isClosed) return;
    if (notifyPeer) this.#sendClose(error.code === 'PROTOCOL_ERROR' ? 1 : 2, error.message);
    this.#ctl.closedByMedium({ reason: error.message, error });
  }

  #onData(d: Uint8Array): void {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const seq = v.getUint32(4, true);
    const total = v.getUint32(8, true);
    if (seq !== ((this.#recvSeq + 1) >>> 0)) {
      return this.#fail('PEER_UNAVAILABLE', `link lost messages (expected #${this.#recvSeq + 1}, got #${seq})`);
    }
    this.#recvSeq = seq;
    const pre = this.#c.preAuth;
    if (pre !== undefined && this.#authenticating) {
      this.#preAuthBytes += d.byteLength;
      // The announced length counts too: a small first chunk must not make this side allocate a large frame.
      if (this.#preAuthBytes > pre.maxBytes || total > pre.maxBytes) {
        return this.#fail('PROTOCOL_ERROR', `peer sent ${Math.max(this.#preAuthBytes, total)} bytes before authenticating (limit ${pre.maxBytes})`);
      }
    }
    if (total > this.#c.maxFrameBytes) {
      return this.#fail('PROTOCOL_ERROR', `incoming frame of ${total} bytes exceeds maxFrameBytes ${this.#c.maxFrameBytes}`);
    }
    const part = d.subarray(HEADER);
    if (this.#assembly === undefined && part.byteLength === total) return this.#ctl.receive(new Uint8Array(part)); // a copy: the client may reuse its read buffer (and Buffer#slice would not copy)
    const a = (this.#assembly ??= { buf: new Uint8Array(total), filled: 0 });
    if (a.buf.byteLength !== total || a.filled + part.byteLength > total) return this.#fail('PROTOCOL_ERROR', 'inconsistent frame chunks');
    a.buf.set(part, a.filled);
    a.filled += part.byteLength;
    if (a.filled === total) {
      this.#assembly = undefined;
      this.#ctl.receive(a.buf);
    }
  }

  #write(frame: Uint8Array): void {
    const chunk = Math.max(1, this.#c.maxPayloadBytes - HEADER);
    let offset = 0;
    do {
      const n = Math.min(chunk, frame.byteLength - offset);
      const msg = new Uint8Array(HEADER + n);
      const v = new DataView(msg.buffer);
      msg[0] = DATA;
      this.#sendSeq = (this.#sendSeq + 1) >>> 0;
      v.setUint32(4, this.#sendSeq, true);
      v.setUint32(8, frame.byteLength, true);
      msg.set(frame.subarray(offset, offset + n), HEADER);
      this.#publish(msg);
      offset += n;
    } while (offset < frame.byteLength);
  }

  #publish(msg: Uint8Array): void {
    try {
      this.#c.nc.publish(this.#c.peerSubject, msg, { reply: this.#c.ownSubject });
    } catch (err) {
      const e = new EparaError('PEER_UNAVAILABLE', `NATS publish failed: ${(err as Error).message}`, {}, { cause: err });
      this.drop(e, false);
      throw new EparaError('CLOSED', 'the NATS connection is closed', {}, { cause: err });
    }
  }

  #sendClose(code: number, reason: string): void {
    const text = new TextEncoder().encode(reason.slice(0, 200));
    const msg = new Uint8Array(HEADER + text.byteLength);
    msg[0] = CLOSE;
    msg[1] = code;
    msg.set(text, HEADER);
    try {
      if (!this.#c.nc.isClosed()) this.#c.nc.publish(this.#c.peerSubject, msg, { reply: this.#c.ownSubject });
    } catch {
      // The broker is gone; the peer's keepalive will notice.
    }
  }

  #fail(code: 'PROTOCOL_ERROR' | 'PEER_UNAVAILABLE', message: string): void {
    this.drop(new EparaError(code, message), true);
  }

  #keepalive(): void {
    if (this.connection.isClosed || this.#probing) return;
    if (performance.now() - this.#heardAt < this.#c.keepaliveIntervalMs) return;
    this.#probing = true;
    const tag = new TextEncoder().encode(this.#c.ownSubject);
    const ping = new Uint8Array(HEADER + tag.byteLength);
    ping[0] = PING;
    ping.set(tag, HEADER);
    this.#c.nc
      .request(this.#c.peerSubject, ping, { timeout: this.#c.deadPeerTimeoutMs })
      .then(
        (reply) => {
          if (reply.data[0] === 1) this.#heardAt = performance.now();
          else this.#fail('PEER_UNAVAILABLE', 'the peer no longer knows this link');
        },
        (err: Error) => {
          const why = err.name === 'NoRespondersError' || /no responders/i.test(err.message) ? 'the peer is gone (no responders)' : `the peer did not answer a probe: ${err.message}`;
          this.#fail('PEER_UNAVAILABLE', why);
        },
      )
      .finally(() => {
        this.#probing = false;
      });
  }
}

/** Answers a probe for a link this side does not know (it closed or never existed). */
export function answerUnknownLink(msg: Msg): void {
  if (msg.data[0] === PING && msg.reply) msg.respond(new Uint8Array([0]));
}
