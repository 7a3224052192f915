/**
 * The link bytes each server has committed to the streams it sends on to peers: a stream pinned to an instance
 * on another server than its access server sends every frame out over the access server's link, so stream
 * admission counts its frame rate against that link. The charge follows the frames: when a stream's client
 * reaches another access server (its server failed, or the client moved), the frames leave over the new one's
 * link, so the charge moves there — and is dropped when the new access server hosts the stream's instance itself.
 */
export class StreamEgress<S extends { readonly id: number }> {
  readonly #committed: Float64Array;
  /**
   * Per stream id (a small non-negative integer: the workload numbers its sessions from 0), the server charged, −1
   * for none, and the rate charged there: typed arrays, since a `Map` keyed by stream cost a hash lookup per frame.
   */
  #server = new Int32Array(64).fill(-1);
  #bytesPerMs = new Float64Array(64);

  /** @param servers number of servers (indices `0 … servers − 1`). */
  constructor(servers: number) {
    this.#committed = new Float64Array(servers);
  }

  /**
   * Charges `bytesPerMs` of `stream`'s frames to `server`'s link, or to no link when `server` is −1 (the stream is
   * not pinned, or pinned where its frames enter). A charge the stream held elsewhere is released first; charging
   * the same link again changes nothing.
   */
  charge(stream: S, server: number, bytesPerMs: number): void {
    const id = stream.id;
    if (id >= this.#server.length) this.#grow(id);
    const was = this.#server[id]!;
    if (was >= 0 && was === server && this.#bytesPerMs[id] === bytesPerMs) return;
    if (was >= 0) {
      this.#committed[was] = Math.max(0, this.#committed[was]! - this.#bytesPerMs[id]!);
      this.#server[id] = -1;
    }
    if (server < 0) return;
    this.#server[id] = server;
    this.#bytesPerMs[id] = bytesPerMs;
    this.#committed[server] = this.#committed[server]! + bytesPerMs;
  }

  /** Bytes/ms of `server`'s link committed to streams whose frames it sends on to peers. */
  committed(server: number): number {
    return this.#committed[server]!;
  }

  /** The server whose link `stream` is charged to, or −1. */
  chargedTo(stream: S): number {
    return stream.id < this.#server.length ? this.#server[stream.id]! : -1;
  }

  /** Makes room for stream id `id` (doubling, so a run grows the arrays a few times at most). */
  #grow(id: number): void {
    let n = this.#server.length;
    while (n <= id) n *= 2;
    const server = new Int32Array(n).fill(-1);
    server.set(this.#server);
    const bytes = new Float64Array(n);
    bytes.set(this.#bytesPerMs);
    this.#server = server;
    this.#bytesPerMs = bytes;
  }
}
