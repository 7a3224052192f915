import { isEparaError } from '@epara/core';
import type { EparaErrorCode } from '@epara/core';
import type { Connection, ConnectionClosedEvent, Transport } from './transport.js';

/** Resolves with the next `closed` event of `conn` (at once if already closed). */
export function closedOf(conn: Connection): Promise<ConnectionClosedEvent | undefined> {
  if (conn.isClosed) return Promise.resolve(undefined);
  return new Promise((resolve) => conn.once('closed', resolve));
}

/** Resolves with the next connection `transport` accepts. */
export function nextAccepted(transport: Transport): Promise<Connection> {
  return new Promise((resolve) => transport.once('connectionAccepted', ({ connection }) => resolve(connection)));
}

/** Collects the next `count` frames of `conn`, in arrival order. */
export function collectFrames(conn: Connection, count: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const frames: Uint8Array[] = [];
    if (count === 0) return resolve(frames);
    const onFrame = ({ frame }: { frame: Uint8Array }): void => {
      frames.push(frame);
      if (frames.length === count) {
        conn.off('frameReceived', onFrame);
        conn.off('closed', onClosed);
        resolve(frames);
      }
    };
    const onClosed = (e: ConnectionClosedEvent): void => reject(new Error(`closed after ${frames.length}/${count} frames: ${e.reason}`));
    conn.on('frameReceived', onFrame);
    conn.once('closed', onClosed);
  });
}

/** Makes every accepted connection of `transport` echo each frame back. */
export function echo(transport: Transport): Connection[] {
  const accepted: Connection[] = [];
  transport.on('connectionAccepted', ({ connection }) => {
    accepted.push(connection);
    // A bare echo server trusts every peer: lift the limits a transport keeps before authentication.
    connection.markAuthenticated?.();
    connection.on('frameReceived', ({ frame }) => {
      if (!connection.isClosed) connection.send(frame);
    });
  });
  return accepted;
}

/** Deterministic pseudo-random bytes (xorshift), so byte-exactness checks are not fooled by zeros. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The error code of what `fn` throws or rejects with (`'not thrown'` / `'not EparaError'` otherwise). */
export async function codeOf(fn: () => unknown): Promise<EparaErrorCode | 'not thrown' | 'not EparaError'> {
  try {
    await fn();
    return 'not thrown';
  } catch (err) {
    return isEparaError(err) ? err.code : 'not EparaError';
  }
}

/** Byte equality that reports a compact difference. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
