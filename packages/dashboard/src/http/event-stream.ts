import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A page that is this far behind (bytes unsent, beyond the history it was sent on connecting) is disconnected; it
 * reconnects and gets the history again.
 */
export const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
/** Most pages connected at once; more get 503. */
const MAX_CLIENTS = 64;

/** Server-sent events to every connected page: `history` once on connect, then `tick` each interval. */
export class EventStream {
  /** Each page's stream, and the bytes it was sent on connecting (the history, which it may take a while to read). */
  readonly #clients = new Map<ServerResponse, number>();

  get size(): number {
    return this.#clients.size;
  }

  add(req: IncomingMessage, res: ServerResponse, history: unknown, last: unknown): void {
    if (this.#clients.size >= MAX_CLIENTS) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('too many dashboard clients');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    if (req.method === 'HEAD') return void res.end();
    res.socket?.setNoDelay(true);
    const drop = (): void => void this.#clients.delete(res);
    res.on('close', drop);
    req.on('close', drop);
    res.write('retry: 1000\n\n');
    this.#write(res, 'history', history);
    if (last !== undefined) this.#write(res, 'tick', last);
    // The history of a server with hundreds of services is megabytes (a point per second for windowMs): counted
    // as backlog, a page on a link that could not read it within one update was cut, came back, was sent it again
    // and cut again, never live. It is allowed on top of the backlog; memory stays bounded by it plus the backlog.
    this.#clients.set(res, res.writableLength);
  }

  broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const [res, sent] of this.#clients) {
      if (res.writableLength > sent + MAX_BACKLOG_BYTES) {
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  }

  close(): void {
    for (const res of this.#clients.keys()) res.end();
    this.#clients.clear();
  }

  #write(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
