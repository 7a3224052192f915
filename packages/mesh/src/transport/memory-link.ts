import type { MemoryHub, MemoryLinkInfo, MemoryPeerSide } from './memory-hub.js';

type Item = { readonly at: number; readonly frame?: Uint8Array; readonly closeReason?: string };

/**
 * One direction of a memory connection: delivers frames to the peer asynchronously (never inside `send`),
 * in order, after the hub's delay, dropping what the hub's faults drop. A close travels behind the frames
 * sent before it, as a TCP FIN does.
 */
export class MemoryLink {
  readonly #hub: MemoryHub;
  readonly #info: MemoryLinkInfo;
  #peer: MemoryPeerSide | undefined;
  #queue: Item[] = [];
  #lastAt = 0;
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #bytes = 0;

  constructor(hub: MemoryHub, info: MemoryLinkInfo) {
    this.#hub = hub;
    this.#info = info;
  }

  /** Bytes sent but not yet delivered. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  attach(peer: MemoryPeerSide): void {
    this.#peer = peer;
    this.#pump();
  }

  push(frame: Uint8Array): void {
    const delay = this.#hub.route(this.#info, frame);
    if (delay === undefined) return;
    // Copied so the sender may reuse its buffer, as it may with a socket once the bytes are written.
    const copy = frame.slice();
    this.#bytes += copy.byteLength;
    this.#enqueue({ at: this.#at(delay), frame: copy });
  }

  pushClose(reason: string): void {
    this.#enqueue({ at: this.#at(0), closeReason: reason });
  }

  #at(delay: number): number {
    this.#lastAt = Math.max(this.#lastAt, performance.now() + delay);
    return this.#lastAt;
  }

  #enqueue(item: Item): void {
    this.#queue.push(item);
    this.#pump();
  }

  #pump(): void {
    if (this.#timer !== undefined || this.#peer === undefined || this.#queue.length === 0) return;
    const wait = (this.#queue[0] as Item).at - performance.now();
    const run = (): void => {
      this.#timer = undefined;
      this.#deliverDue();
      this.#pump();
    };
    this.#timer = wait > 0 ? setTimeout(run, wait) : setImmediate(run);
  }

  #deliverDue(): void {
    const peer = this.#peer as MemoryPeerSide;
    const now = performance.now();
    while (this.#queue.length > 0 && (this.#queue[0] as Item).at <= now) {
      const item = this.#queue.shift() as Item;
      if (item.frame !== undefined) {
        this.#bytes -= item.frame.byteLength;
        peer.receive(item.frame);
      } else {
        this.#queue = [];
        peer.closedByPeer(item.closeReason ?? 'closed');
      }
    }
  }
}
