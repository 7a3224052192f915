import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { EventStream, MAX_BACKLOG_BYTES } from './event-stream.js';

/** A response whose client reads nothing: every byte written stays unsent (its writableLength). */
class StalledResponse extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.writableLength += Buffer.byteLength(chunk);
    return false;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const open = (stream: EventStream, history: unknown): StalledResponse => {
  const res = new StalledResponse();
  stream.add(new EventEmitter() as unknown as IncomingMessage, res as unknown as ServerResponse, history, undefined);
  return res;
};

describe('the event stream of a client that does not read', () => {
  it('keeps a page whose history (megabytes with hundreds of services) is still unsent, and cuts it once it falls the backlog behind beyond it', () => {
    const stream = new EventStream();
    // A history larger than the backlog: before, the first update cut the page, which came back, was sent the
    // history again, and was cut again — never live on a link that could not read it within one update.
    const history = { points: 'x'.repeat(MAX_BACKLOG_BYTES + 1024) };
    const res = open(stream, history);
    const tick = { data: 'y'.repeat(64 * 1024) };
    stream.broadcast('tick', tick);
    expect(res.destroyed).toBe(false);
    expect(stream.size).toBe(1);
    // Still not reading: cut once the updates alone are the backlog behind (its memory stays bounded).
    let sent = 1;
    while (!res.destroyed && sent < 1000) (stream.broadcast('tick', tick), (sent += 1));
    expect(res.destroyed).toBe(true);
    expect(stream.size).toBe(0);
    expect(sent * 64 * 1024).toBeGreaterThan(MAX_BACKLOG_BYTES);
    expect(sent * 64 * 1024).toBeLessThan(MAX_BACKLOG_BYTES + 2 * 64 * 1024 + 1024);
  });

  it('cuts a page with a small history once the updates fall the backlog behind', () => {
    const stream = new EventStream();
    const res = open(stream, { points: [] });
    const tick = { data: 'y'.repeat(64 * 1024) };
    let sent = 0;
    while (!res.destroyed && sent < 1000) (stream.broadcast('tick', tick), (sent += 1));
    expect(res.destroyed).toBe(true);
    expect(sent * 64 * 1024).toBeLessThan(MAX_BACKLOG_BYTES + 2 * 64 * 1024);
  });
});
