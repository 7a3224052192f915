/**
 * The link bytes each server has committed to the streams it sends on to peers: a stream pinned to an instance
 * on another server than its access server sends every frame out over the access server's link, so stream
 * admission counts its frame rate against that link. The charge follows the frames: when a stream's client
 * reaches another access server (its server failed, or the client moved), the frames leave over the new one's
 * link, so the charge moves there — and is dropped when the new access server hosts the stream's instance itself.
 */
export class StreamEgress<S extends object> {
  readonly #committed: Float64Array;
  readonly #charged = new Map<S, { server: number; bytesPerMs: number }>();

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
    const was = this.#charged.get(stream);
    if (was !== undefined && was.server === server && was.bytesPerMs === bytesPerMs) return;
    if (was !== undefined) {
      this.#committed[was.server] = Math.max(0, this.#committed[was.server]! - was.bytesPerMs);
      this.#charged.delete(stream);
    }
    if (server < 0) return;
    this.#charged.set(stream, { server, bytesPerMs });
    this.#committed[server] = this.#committed[server]! + bytesPerMs;
  }

  /** Bytes/ms of `server`'s link committed to streams whose frames it sends on to peers. */
  committed(server: number): number {
    return this.#committed[server]!;
  }

  /** The server whose link `stream` is charged to, or −1. */
  chargedTo(stream: S): number {
    return this.#charged.get(stream)?.server ?? -1;
  }
}
