import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { EventEmitter } from 'eventemitter3';
import { EparaError, isEparaError } from '@epara/core';
import { abortError, withAbort } from '@epara/mesh/wire';
import type { Connection, ConnectOptions, ListenOptions, Transport, TransportEvents } from '@epara/mesh';
import { connectNats } from './nats-connect.js';
import type { NatsLinkConfig } from './nats-link.js';
import { answerUnknownLink, NatsLink } from './nats-link.js';
import { randomToken, resolveNatsTransportOptions } from './nats-transport-options.js';
import type { NatsTransportOptions, ResolvedNatsTransportOptions } from './nats-transport-options.js';

interface Hello {
  readonly v: 1;
  /** The dialer's receive subject for this link. */
  readonly subject: string;
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const parse = (bytes: Uint8Array): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

class NatsTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly kind = 'nats';
  readonly maxFrameBytes: number;
  readonly #o: ResolvedNatsTransportOptions;
  /** Each link's receive subject is `<inbox>.<key>`; one wildcard subscription serves them all. */
  readonly #inbox = `_EPARA.${randomToken()}`;
  readonly #links = new Map<string, NatsLink>();
  #nc: Promise<{ nc: NatsConnection; inboxSub: Subscription }> | undefined;
  #listenSub: Subscription | undefined;
  #listening: Promise<{ address: string }> | undefined;
  #address: string | undefined;
  #closing: Promise<void> | undefined;
  #nextKey = 0;
  /** Inbound links mid-handshake now (bounded by `maxUnauthenticatedLinks`). */
  #authenticating = 0;

  constructor(o: ResolvedNatsTransportOptions) {
    super();
    this.#o = o;
    this.maxFrameBytes = o.maxFrameBytes;
  }

  get address(): string | undefined {
    return this.#address;
  }

  listen(options: ListenOptions = {}): Promise<{ address: string }> {
    if (this.#closing !== undefined) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    if (options.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    this.#listening ??= this.#startListening();
    return this.#listening;
  }

  async #startListening(): Promise<{ address: string }> {
    const { nc } = await this.#connection();
    const address = `${this.#o.subjectPrefix}.peer.${this.#o.name}`;
    this.#listenSub = nc.subscribe(address, { callback: (err, msg) => (err ? this.#bgError(err) : this.#onHello(nc, msg)) });
    await nc.flush(); // the subscription is live at the server before anyone is told the address
    this.#address = address;
    return { address };
  }

  #onHello(nc: NatsConnection, msg: Msg): void {
    const hello = parse(msg.data) as Partial<Hello> | undefined;
    if (!msg.reply) return;
    // The reply subject must be a plain subject (no wildcards): frames are published there.
    if (hello?.v !== 1 || typeof hello.subject !== 'string' || !/^[^\s*>]+$/.test(hello.subject) || this.#closing !== undefined) {
      msg.respond(json({ ok: false, reason: this.#closing ? 'closed' : 'bad hello' }));
      if (hello?.v !== 1) this.#bgError(new EparaError('PROTOCOL_ERROR', 'a dialer sent a malformed NATS hello'));
      return;
    }
    if (this.#authenticating >= this.#o.maxUnauthenticatedLinks) {
      msg.respond(json({ ok: false, reason: `busy: ${this.#authenticating} links are authenticating` }));
      this.#bgError(new EparaError('RATE_LIMITED', `refused a link: ${this.#authenticating} links are already authenticating`));
      return;
    }
    const link = this.#open(nc, 'inbound', hello.subject, msg.reply);
    msg.respond(json({ ok: true, subject: link.subject }));
    this.emit('connectionAccepted', { connection: link.link.connection });
  }

  connect(address: string, options: ConnectOptions = {}): Promise<Connection> {
    if (this.#closing !== undefined) return Promise.reject(new EparaError('CLOSED', 'transport is closed'));
    if (typeof address !== 'string' || address === '' || /[\s*>]/.test(address)) {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `Expected a NATS subject address, got \`${String(address)}\``, { field: 'address', value: address }));
    }
    if (options.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    let aborted = false;
    let made: NatsLink | undefined;
    return withAbort(
      options.signal,
      async () => {
        const { nc } = await this.#connection();
        const key = this.#key();
        const subject = `${this.#inbox}.${key}`;
        const reply = await this.#hello(nc, address, subject);
        if (aborted || this.#closing !== undefined) {
          // The acceptor already made its side: tell it to close so nothing is left open.
          nc.publish(reply, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
          throw new EparaError(aborted ? 'ABORTED' : 'CLOSED', 'connect gave up');
        }
        made = this.#adopt(nc, 'outbound', address, key, reply);
        return made.connection;
      },
      () => {
        aborted = true;
        made?.connection.close('aborted');
      },
    );
  }

  async #hello(nc: NatsConnection, address: string, subject: string): Promise<string> {
    let reply: Msg;
    try {
      reply = await nc.request(address, json({ v: 1, subject } satisfies Hello), { timeout: this.#o.connectTimeoutMs });
    } catch (err) {
      if (this.#closing !== undefined) throw new EparaError('CLOSED', 'transport is closed');
      throw new EparaError('PEER_UNAVAILABLE', `nothing answers at ${address}: ${(err as Error).message}`, { address }, { cause: err });
    }
    const answer = parse(reply.data);
    if (answer?.['ok'] !== true || typeof answer['subject'] !== 'string') {
      throw new EparaError('PEER_UNAVAILABLE', `${address} refused the link: ${String(answer?.['reason'] ?? 'malformed answer')}`, { address });
    }
    return answer['subject'];
  }

  #open(nc: NatsConnection, direction: 'inbound', peerSubject: string, remote: string): { link: NatsLink; subject: string } {
    const key = this.#key();
    // The slot is taken when a handshake starts on the link (the node's secure layer does at once) and freed when
    // it finishes or the link closes; a host that reads a bare link unauthenticated takes none.
    let slot: 'none' | 'held' | 'freed' = 'none';
    const free = (): void => {
      if (slot === 'held') this.#authenticating--;
      slot = 'freed';
    };
    const preAuth = {
      maxBytes: this.#o.preAuthMaxBytes,
      onArmed: () => {
        if (slot !== 'none') return;
        slot = 'held';
        this.#authenticating++;
      },
      onAuthenticated: free,
    };
    const link = this.#adopt(nc, direction, remote, key, peerSubject, preAuth);
    link.connection.once('closed', free);
    return { link, subject: `${this.#inbox}.${key}` };
  }

  #adopt(nc: NatsConnection, direction: 'inbound' | 'outbound', remoteAddress: string, key: string, peerSubject: string, preAuth?: NatsLinkConfig['preAuth']): NatsLink {
    const o = this.#o;
    const link = new NatsLink({
      nc,
      direction,
      remoteAddress,
      peerSubject,
      ownSubject: `${this.#inbox}.${key}`,
      maxFrameBytes: o.maxFrameBytes,
      maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      deadPeerTimeoutMs: o.deadPeerTimeoutMs,
      onClosed: () => this.#links.delete(key),
      ...(preAuth ? { preAuth } : {}),
    });
    this.#links.set(key, link);
    return link;
  }

  #key(): string {
    return (this.#nextKey++).toString(36);
  }

  #onLinkMessage(msg: Msg): void {
    const key = msg.subject.slice(this.#inbox.length + 1);
    const link = this.#links.get(key);
    if (link) link.receive(msg);
    else answerUnknownLink(msg);
  }

  #connection(): Promise<{ nc: NatsConnection; inboxSub: Subscription }> {
    this.#nc ??= (async () => {
      const o = this.#o;
      const nc = o.connection ?? (await connectNats({ servers: o.servers ?? [], ...(o.auth ? { auth: o.auth } : {}), ...(o.tls ? { tls: o.tls } : {}), name: `epara-${o.name}` }));
      if (this.#closing !== undefined && o.connection === undefined) await nc.close();
      if (this.#closing !== undefined) throw new EparaError('CLOSED', 'transport is closed');
      const inboxSub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => (err ? this.#bgError(err) : this.#onLinkMessage(msg)) });
      void this.#watchStatus(nc);
      return { nc, inboxSub };
    })();
    return this.#nc;
  }

  /** Messages may be lost while the client is disconnected: every link fails rather than skipping frames. */
  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') this.#dropAll(new EparaError('PEER_UNAVAILABLE', `NATS connection ${s.type}ed`));
    }
    if (this.#closing === undefined) this.#dropAll(new EparaError('PEER_UNAVAILABLE', 'the NATS connection closed'));
  }

  #dropAll(error: EparaError): void {
    for (const link of [...this.#links.values()]) link.drop(error, true);
  }

  #bgError(err: unknown): void {
    const error = isEparaError(err) ? err : new EparaError('PEER_UNAVAILABLE', `NATS: ${(err as Error).message}`, {}, { cause: err });
    this.#o.logger.warn({ err: error }, 'nats transport background error');
    this.emit('errored', { error });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const link of [...this.#links.values()]) link.connection.close('transport closed');
    const conn = await this.#nc?.catch(() => undefined);
    if (conn === undefined) return;
    this.#listenSub?.unsubscribe();
    conn.inboxSub.unsubscribe();
    if (this.#o.connection === undefined) await conn.nc.close().catch(() => undefined);
    // The host's connection stays open: push the links' goodbyes out first. rtt() is a flush that refuses at once
    // while the client is disconnected, where a flush waited for the next reconnect (the broker down: seconds). A
    // broker that hangs with the client connected never answers it (the client finds it stale only after its ping
    // interval, minutes: a node's close() waited as long), so the wait is bounded: past `connectTimeoutMs` (at most
    // `deadPeerTimeoutMs`, when the peers find the links dead anyway) the goodbyes are left to the client.
    else await atMost(conn.nc.rtt(), Math.min(this.#o.connectTimeoutMs, this.#o.deadPeerTimeoutMs));
  }
}

/**
 * Creates a mesh `Transport` over NATS core. `listen()` subscribes to the subject
 * `<subjectPrefix>.peer.<name>` (its address); `connect(address)` makes a virtual duplex link: a hello over
 * request/reply, then one receive subject per side. Frames are binary, ordered, split under the server's
 * max_payload and sequence-checked: a lost message or a vanished peer closes the link with
 * `PEER_UNAVAILABLE`, never a silent drop. NATS authentication (user/password, token) and TLS apply to the
 * broker connection; wrap links with `secureConnection` to authenticate peers to each other as well.
 *
 * @throws EparaError `INVALID_OPTIONS` for malformed options. `listen`/`connect` reject with
 * `UNAUTHENTICATED` when the broker refuses the credentials.
 * @example
 * ```ts
 * const a = createNatsTransport({ servers: 'nats://127.0.0.1:4222', name: 'a' });
 * const b = createNatsTransport({ servers: 'nats://127.0.0.1:4222', name: 'b' });
 * const { address } = await a.listen(); // 'epara.peer.a'
 * const conn = await b.connect(address);
 * conn.send(new Uint8Array([1, 2, 3]));
 * ```
 */
export function createNatsTransport(options: NatsTransportOptions): Transport {
  return new NatsTransport(resolveNatsTransportOptions(options));
}

/** Waits for `work` (its failure ignored) at most `ms`; the timer goes as soon as `work` settles. */
function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => (clearTimeout(timer), resolve());
    work.then(done, done);
  });
}
