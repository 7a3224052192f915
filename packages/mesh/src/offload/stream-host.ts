import { EparaError, toEparaError } from '@epara/core';
import type { LocalStream, ServerId, ServiceId } from '@epara/core';
import type { OffloadMessage } from './offload-messages.js';

/** A stream admission request as the node routes it. */
export interface StreamRoute {
  readonly serviceId: ServiceId;
  readonly rateHz: number;
  readonly stalenessMs?: number;
  readonly hops: number;
  readonly visited: readonly ServerId[];
}

/** What {@link StreamHost} needs from the node. */
export interface StreamHostConfig {
  /** Admits and opens the stream here (or one hop further, per the node's routing). */
  readonly open: (route: StreamRoute) => Promise<LocalStream>;
  readonly reply: (linkId: string, message: OffloadMessage) => void;
}

/** A gap this large between a frame's `seq` and the next expected is no loss on the way: the peer is broken. */
const MAX_SEQ_GAP = 1024;

/** Stream ids remembered as ended, per link: the most recent this many. */
const ENDED_KEPT_PER_LINK = 1024;

/**
 * One frame of a hosted stream awaiting its answer, in the client's push order: pushed to the local stream as
 * its `local`-th frame, or settled here (`error`) because it never arrived or the stream refused it.
 */
interface Slot {
  readonly seq: number;
  readonly local?: number;
  readonly error?: EparaError;
}

interface Hosted {
  readonly stream: Promise<LocalStream | undefined>;
  /** The opener, and the link it opened the stream on (where every answer goes). */
  readonly from: ServerId;
  readonly linkId: string;
  /** The client's `seq` of the next frame expected. */
  next: number;
  readonly slots: Slot[];
}

/**
 * The serving end of streams that peers pinned to this node: opens the stream through the node (admission
 * once), feeds pushed frames in order, and sends every result back in order; the client's `stream-close`
 * closes it and the summary travels back.
 *
 * Results go back under the client's `seq`, not the local stream's: a frame lost on the way (its `seq`
 * skipped) is answered `PEER_UNAVAILABLE` in its place, and a frame that arrives twice or after a later one is
 * dropped. Numbering results by the local stream instead answered every frame after a lost or repeated one
 * with its neighbour's output.
 */
export class StreamHost {
  readonly #c: StreamHostConfig;
  readonly #streams = new Map<string, Hosted>();
  /**
   * Per open link, the ids of the streams that ended on it (closed, or refused), oldest first: a `stream-open`
   * repeated in transit that arrives after its stream ended must not open another, which nobody would close.
   */
  readonly #ended = new Map<string, Set<number>>();
  /**
   * The key of each hosted stream by its opener and stream id (`from#id`): a frame that comes over another of the
   * opener's links finds its stream at once (before, each such frame scanned every hosted stream).
   */
  readonly #bySender = new Map<string, string>();

  constructor(config: StreamHostConfig) {
    this.#c = config;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Entries of the index by opener (none once no stream is hosted): for tests. */
  get indexed(): number {
    return this.#bySender.size;
  }

  onOpen(linkId: string, from: ServerId, m: Extract<OffloadMessage, { type: 'stream-open' }>): void {
    const requestId = m.requestId ?? 0;
    const key = `${linkId}#${requestId}`;
    if (this.#streams.has(key) || this.#ended.get(linkId)?.has(requestId) === true) return;
    if (!this.#ended.has(linkId)) this.#ended.set(linkId, new Set());
    const visited = m.visited.includes(from) ? m.visited : [...m.visited, from];
    const opened = this.#c.open({ serviceId: m.serviceId, rateHz: m.rateHz, stalenessMs: m.stalenessMs, hops: m.hops, visited }).then(
      (stream) => {
        this.#send(linkId, { type: 'stream-accepted', requestId, instanceId: stream.id });
        void this.#pipe(linkId, requestId, key, stream);
        return stream;
      },
      (err: unknown) => {
        this.#forget(key);
        this.#remember(linkId, requestId);
        this.#send(linkId, { type: 'error', requestId, error: toEparaError(err) });
        return undefined;
      },
    );
    this.#streams.set(key, { stream: opened, from, linkId, next: 0, slots: [] });
    // The first open of an id keeps the index (a second, over another link, is found on its own link).
    if (!this.#bySender.has(`${from}#${requestId}`)) this.#bySender.set(`${from}#${requestId}`, key);
  }

  /** Forgets a hosted stream. */
  #forget(key: string): void {
    const h = this.#streams.get(key);
    if (!h) return;
    this.#streams.delete(key);
    const bySender = `${h.from}#${key.slice(key.lastIndexOf('#') + 1)}`;
    if (this.#bySender.get(bySender) === key) this.#bySender.delete(bySender);
  }

  /** A frame of a stream `from` opened here, on this link or (`from` given) on another of its links. */
  onFrame(linkId: string, m: Extract<OffloadMessage, { type: 'stream-frame' }>, from?: ServerId): void {
    const requestId = m.requestId ?? 0;
    const hosted = this.#find(linkId, requestId, from);
    // Frames are handled in arrival order: every callback on one promise runs in the order it was added.
    void hosted?.stream.then((s) => s && this.#take(hosted.linkId, requestId, hosted, s, m));
  }

  onClose(linkId: string, requestId: number, from?: ServerId): void {
    void this.#find(linkId, requestId, from)?.stream.then((s) => s?.close());
  }

  /**
   * The stream `requestId` opened over `linkId`, else (`from` given) the one `from` opened over another link: an
   * opener numbers its streams once for all its links, and with two links to this node (both dialed at once) its
   * frames and close may take another link than its open did.
   */
  #find(linkId: string, requestId: number, from: ServerId | undefined): Hosted | undefined {
    const hosted = this.#streams.get(`${linkId}#${requestId}`);
    if (hosted !== undefined || from === undefined) return hosted;
    const key = this.#bySender.get(`${from}#${requestId}`);
    return key === undefined ? undefined : this.#streams.get(key);
  }

  /** The client's link closed: close its streams (their results have nowhere to go). */
  onLinkClosed(linkId: string): void {
    this.#ended.delete(linkId);
    for (const [key, h] of this.#streams) if (key.startsWith(`${linkId}#`)) void h.stream.then((x) => x?.close());
  }

  /** Closes every hosted stream (node shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((h) => h.stream.then((x) => x?.close())));
  }

  /** One frame from the client: a repeat is dropped, the frames it skipped are answered lost, then it is pushed. */
  #take(linkId: string, requestId: number, hosted: Hosted, stream: LocalStream, m: Extract<OffloadMessage, { type: 'stream-frame' }>): void {
    if (m.seq < hosted.next) return;
    if (m.seq - hosted.next > MAX_SEQ_GAP) {
      this.#send(linkId, { type: 'error', requestId, error: new EparaError('PROTOCOL_ERROR', `stream frame #${m.seq} skips more than ${MAX_SEQ_GAP} frames after #${hosted.next}`) });
      void stream.close();
      return;
    }
    for (let seq = hosted.next; seq < m.seq; seq++) {
      hosted.slots.push({ seq, error: new EparaError('PEER_UNAVAILABLE', `stream frame #${seq} was lost on the way to the serving peer`, { cause: 'LOST_IN_TRANSIT' }) });
    }
    hosted.next = m.seq + 1;
    try {
      hosted.slots.push({ seq: m.seq, local: stream.push(m.inputs) });
    } catch (err) {
      hosted.slots.push({ seq: m.seq, error: toEparaError(err) });
    }
    this.#flushSettled(linkId, requestId, hosted);
  }

  /** Sends the answers of the frames settled here that no pushed frame is waiting before. */
  #flushSettled(linkId: string, requestId: number, hosted: Hosted): void {
    for (let slot = hosted.slots[0]; slot?.error; slot = hosted.slots[0]) {
      hosted.slots.shift();
      this.#send(linkId, { type: 'stream-result', requestId, seq: slot.seq, ok: false, error: slot.error });
    }
  }

  async #pipe(linkId: string, requestId: number, key: string, stream: LocalStream): Promise<void> {
    try {
      for await (const r of stream) {
        const hosted = this.#streams.get(key);
        const slot = hosted?.slots[0];
        // A result the local stream gives for no frame pushed here is nobody's answer.
        if (!hosted || slot?.local !== r.seq) continue;
        hosted.slots.shift();
        this.#send(linkId, r.ok ? { type: 'stream-result', requestId, seq: slot.seq, ok: true, outputs: r.outputs, latencyMs: r.latencyMs } : { type: 'stream-result', requestId, seq: slot.seq, ok: false, error: r.error });
        this.#flushSettled(linkId, requestId, hosted);
      }
      const summary = await stream.close();
      this.#send(linkId, { type: 'stream-close', requestId, reason: 'closed', summary });
    } catch (err) {
      this.#send(linkId, { type: 'error', requestId, error: new EparaError('INTERNAL', 'stream failed on the serving node', { cause: String(err) }) });
    } finally {
      this.#forget(key);
      this.#remember(linkId, requestId);
    }
  }

  /** Remembers that stream `requestId` of `linkId` ended (nothing is kept for a link that closed meanwhile). */
  #remember(linkId: string, requestId: number): void {
    const ended = this.#ended.get(linkId);
    if (!ended) return;
    ended.add(requestId);
    if (ended.size > ENDED_KEPT_PER_LINK) ended.delete(ended.values().next().value!);
  }

  #send(linkId: string, m: OffloadMessage): void {
    try {
      this.#c.reply(linkId, m);
    } catch {
      // The client link is gone; its side settles the stream on its own.
    }
  }
}
