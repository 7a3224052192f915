import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';
import { ByteReader } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { decodeFrame, encodeFrame } from './frame-codec.js';

const roundTrip = (s: string): string => {
  const w = new ByteWriter(4);
  w.str(s);
  w.longStr(s, 1 << 20);
  const r = new ByteReader(w.bytes().slice());
  const a = r.str();
  expect(r.longStr('again', 1 << 20)).toBe(a);
  r.end();
  return a;
};

describe('strings on the wire (written in place, read without a decoder for short ASCII)', () => {
  it('round-trips ASCII, multi-byte UTF-8, surrogate pairs and strings past the short-ASCII path', () => {
    for (const s of ['', 'image', 'edge-0/vad#12', 'ünïcödé', 'a€b', '😀 emoji', 'x'.repeat(64), 'y'.repeat(65), `${'z'.repeat(70)}é`]) {
      expect(roundTrip(s)).toBe(s);
    }
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    const w = new ByteWriter();
    expect(() => w.str('éé', 3, 'id')).toThrow(/id is 4 bytes/);
    w.str('éé', 4, 'id');
    expect(new ByteReader(w.bytes()).str()).toBe('éé');
  });

  it('refuses invalid UTF-8 above and below the short path with PROTOCOL_ERROR', () => {
    for (const n of [3, 80]) {
      const bytes = new Uint8Array(2 + n).fill(0x41);
      new DataView(bytes.buffer).setUint16(0, n, true);
      bytes[2 + n - 1] = 0xff;
      expect(() => new ByteReader(bytes).str()).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }) as Error);
    }
  });

  it('keeps frames independent while the encoder reuses its writer', () => {
    const a = encodeFrame({ type: 'cancel', requestId: 1, reason: 'first reason, rather long '.repeat(4) });
    const b = encodeFrame({ type: 'cancel', requestId: 2, reason: 'second' });
    expect(decodeFrame(a)).toMatchObject({ requestId: 1, reason: 'first reason, rather long '.repeat(4) });
    expect(decodeFrame(b)).toMatchObject({ requestId: 2, reason: 'second' });
  });

  it('decodes a peer error with its code, message and details, without a stack of the decoder', () => {
    const frame = encodeFrame({ type: 'error', requestId: 9, error: new EparaError('STALE_FRAME', 'too old', { seq: 3 }) });
    const m = decodeFrame(frame);
    if (m.type !== 'error') throw new Error('expected an error message');
    expect(m.error).toBeInstanceOf(EparaError);
    expect(m.error).toMatchObject({ code: 'STALE_FRAME', message: 'too old', details: { seq: 3 } });
    expect(m.error.stack).not.toMatch(/message-codec/);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});
