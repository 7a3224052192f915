import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EparaError, isEparaError } from '@epara/core';
import { ChecksumPolicy, decodeFrame, encodeFrame, FRAME_HEADER_BYTES, isChecksumError, readFrameHeader } from './frame-codec.js';
import { frameCrc32 } from './frame-checksum.js';
import { decodeViewEntries, encodeViewEntries } from './view-codec.js';
import type { WireViewEntry } from './view-codec.js';
import { entryArb, messageArb, plain } from './wire-arbitraries.js';
import { SUBMIT_FLAG_TRACE, SYNC_FLAG_ITEMS, SYNC_FLAG_RUNS } from './messages.js';

/** A frame changed on purpose, sealed again with its new checksum (so the decoder's other checks see it). */
function resealed(frame: Uint8Array): Uint8Array {
  new DataView(frame.buffer, frame.byteOffset).setUint32(20, frameCrc32(frame, 20), true);
  return frame;
}

/** The frame as an older build wrote it: no checksum flag, no checksum. */
function unchecksummed(frame: Uint8Array): Uint8Array {
  const copy = frame.slice();
  copy[6] = 0;
  copy.fill(0, 20, 24);
  return copy;
}

function protocolCode(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isEparaError(err) ? err.code : `non-EparaError: ${String(err)}`;
  }
}

describe('frame codec', () => {
  it('round-trips every message type exactly (property)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const decoded = decodeFrame(encodeFrame(m));
        expect(plain(decoded)).toEqual(plain({ flags: 0, ...m }));
      }),
      { numRuns: 600 },
    );
  });

  it('round-trips view entries (property)', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 6 }), (entries) => {
        expect(plain(decodeViewEntries(encodeViewEntries(entries)))).toEqual(plain(entries));
      }),
      { numRuns: 200 },
    );
  });

  it('decodes tensors without copying when the frame is aligned, and correctly when it is not', () => {
    const x = { type: 'float64' as const, dims: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6]) };
    const frame = encodeFrame({ type: 'result', requestId: 9, outputs: { a: { type: 'uint8', dims: [3], data: new Uint8Array(3) }, x } });
    const aligned = decodeFrame(frame);
    if (aligned.type !== 'result') throw new Error('wrong type');
    expect((aligned.outputs['x']?.data as Float64Array).buffer).toBe(frame.buffer);
    const shifted = new Uint8Array(frame.byteLength + 1).subarray(1);
    shifted.set(frame);
    const copy = decodeFrame(shifted);
    if (copy.type !== 'result') throw new Error('wrong type');
    expect(Array.from(copy.outputs['x']?.data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(copy.outputs['x']?.dims).toEqual([2, 3]);
  });

  it('keeps the error code across the wire, and maps a code from the future to INTERNAL', () => {
    const frame = encodeFrame({ type: 'error', requestId: 3, error: new EparaError('OVERLOADED', 'full', { queue: 12 }) });
    const m = decodeFrame(frame);
    expect(m.type === 'error' && [m.error.code, m.error.message, m.error.details]).toEqual(['OVERLOADED', 'full', { queue: 12 }]);
    const future = encodeFrame({ type: 'error', error: new EparaError('INTERNAL', 'x') });
    const text = new TextEncoder().encode('INTERNAL');
    const at = Buffer.from(future).indexOf(Buffer.from(text));
    future.set(new TextEncoder().encode('FUTURE__'), at);
    const f = decodeFrame(resealed(future));
    expect(f.type === 'error' && [f.error.code, f.error.details['remoteCode']]).toEqual(['INTERNAL', 'FUTURE__']);
  });

  it('refuses an unknown version, bad magic, bad lengths and inconsistent tensors with PROTOCOL_ERROR', () => {
    const ok = encodeFrame({ type: 'ping', requestId: 1 });
    const v2 = ok.slice();
    v2[2] = 2;
    expect(() => decodeFrame(v2)).toThrow(/unsupported protocol version 2/);
    expect(protocolCode(() => readFrameHeader(v2))).toBe('PROTOCOL_ERROR');
    const magic = ok.slice();
    magic[0] = 0;
    expect(protocolCode(() => decodeFrame(magic))).toBe('PROTOCOL_ERROR');
    expect(protocolCode(() => decodeFrame(ok.subarray(0, FRAME_HEADER_BYTES - 1)))).toBe('PROTOCOL_ERROR');
    const t = encodeFrame({ type: 'result', outputs: { x: { type: 'float32', dims: [2], data: new Float32Array(2) } } });
    const dims = t.slice();
    // dims[0] sits after count(2) + name(2 + 1) + dtype(1) + rank(1): claim 3 elements for 8 bytes of data.
    new DataView(dims.buffer).setUint32(FRAME_HEADER_BYTES + 7, 3, true);
    expect(() => decodeFrame(resealed(dims))).toThrow(/dims × 4 = 12 ≠ 8/);
    expect(protocolCode(() => decodeFrame(new Uint8Array(20 * 1024 * 1024)))).toBe('PROTOCOL_ERROR');
    expect(protocolCode(() => decodeFrame(ok, { maxFrameBytes: 8 }))).toBe('PROTOCOL_ERROR');
  });

  it('carries string tensors as length-prefixed UTF-8, and refuses a length prefix that does not fit with PROTOCOL_ERROR', () => {
    const s = { type: 'string' as const, dims: [2, 2], data: ['héllo', '', '日本語 🎉', 'x'] };
    const frame = encodeFrame({ type: 'result', requestId: 4, outputs: { s, n: { type: 'int32', dims: [1], data: new Int32Array([7]) } } });
    const back = decodeFrame(frame);
    expect(back.type === 'result' && back.outputs['s']).toEqual(s);
    expect(back.type === 'result' && Array.from(back.outputs['n']!.data as Int32Array)).toEqual([7]);
    // dtype sits after count(2) + name(2 + 1): code 13, appended after the twelve numeric types.
    expect(frame[FRAME_HEADER_BYTES + 5]).toBe(13);
    // The first element's prefix (5 + 1 + 4 + 4 bytes before 'héllo'): 6 UTF-8 bytes.
    const at = Buffer.from(frame).indexOf(Buffer.from('héllo')) - 4;
    expect(new DataView(frame.buffer, frame.byteOffset).getUint32(at, true)).toBe(6);
    const past = frame.slice();
    new DataView(past.buffer).setUint32(at, 1000, true);
    expect(() => decodeFrame(resealed(past))).toThrow(/string 0 of 1000 bytes runs past/);
    expect(protocolCode(() => decodeFrame(past))).toBe('PROTOCOL_ERROR');
    // The first string swallows the rest: the last element has no room left for its length prefix.
    const swallow = frame.slice();
    const tensorBytes = 4 * 4 + s.data.reduce((n, x) => n + Buffer.byteLength(x), 0);
    new DataView(swallow.buffer).setUint32(at, tensorBytes - 4 - 2, true);
    expect(() => decodeFrame(resealed(swallow))).toThrow(/has no room for its length prefix/);
    // A peer that predates code 13 (here: a code from the future) refuses the tensor typed, not with a crash.
    const future = frame.slice();
    future[FRAME_HEADER_BYTES + 5] = 200;
    expect(() => decodeFrame(resealed(future))).toThrow(/unknown dtype code 200/);
    expect(protocolCode(() => encodeFrame({ type: 'result', outputs: { s: { ...s, data: ['a', 'b', 'c'] } } }))).toBe('INVALID_INPUT');
    expect(protocolCode(() => encodeFrame({ type: 'result', outputs: { s: { ...s, data: ['a', 'b', 'c', 4] as unknown as string[] } } }))).toBe('INVALID_INPUT');
  });

  it('refuses to encode values the format cannot carry with INVALID_INPUT', () => {
    const bad = { type: 'float32' as const, dims: [3], data: new Float32Array(2) };
    expect(protocolCode(() => encodeFrame({ type: 'result', outputs: { bad } }))).toBe('INVALID_INPUT');
    const submit = { type: 'submit' as const, serviceId: 's', budgetMs: 5, hops: 300, maxHops: 2, visited: [], priority: 0, inputs: {} };
    expect(protocolCode(() => encodeFrame(submit))).toBe('INVALID_INPUT');
    expect(protocolCode(() => encodeFrame({ ...submit, hops: 0, budgetMs: Number.NaN }))).toBe('INVALID_INPUT');
    const big = { type: 'uint8' as const, dims: [1000], data: new Uint8Array(1000) };
    expect(protocolCode(() => encodeFrame({ type: 'result', outputs: { big } }, { maxFrameBytes: 512 }))).toBe('PROTOCOL_ERROR');
  });

  it('never lets a mutated, truncated or extended frame throw anything but PROTOCOL_ERROR (fuzz)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), times: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('length' as const), field: fc.constantFrom(12, 16), value: fc.nat({ max: 0xffffffff }) }),
    );
    let decodedAnyway = 0;
    fc.assert(
      fc.property(messageArb, mutation, (m, mu) => {
        let frame = encodeFrame(m);
        if (mu.kind === 'flip') for (let i = 0; i < mu.times; i++) frame[(mu.at + i * 7) % frame.byteLength] = mu.value;
        if (mu.kind === 'truncate') frame = frame.subarray(0, mu.at % frame.byteLength);
        if (mu.kind === 'extend') frame = Uint8Array.from([...frame, ...mu.extra]);
        if (mu.kind === 'length') new DataView(frame.buffer).setUint32(mu.field, mu.value, true);
        const code = protocolCode(() => decodeFrame(frame));
        if (code === 'ok') decodedAnyway++;
        expect(['ok', 'PROTOCOL_ERROR']).toContain(code);
      }),
      { numRuns: 3000 },
    );
    // Mutations of payload bytes often still decode (to different values): that is fine, they are valid frames.
    expect(decodedAnyway).toBeLessThan(3000);
  });

  describe('checksum', () => {
    it('refuses a frame with any byte changed as corrupted, before reading anything in it (property)', () => {
      fc.assert(
        fc.property(messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, xor) => {
          const frame = encodeFrame(m);
          const i = at % frame.byteLength;
          // Byte 6 holds the checksum flag: clearing it is caught per link (ChecksumPolicy, below).
          fc.pre(i !== 6);
          frame[i]! ^= xor;
          let error: unknown;
          try {
            decodeFrame(frame);
          } catch (err) {
            error = err;
          }
          expect(isEparaError(error) && error.code).toBe('PROTOCOL_ERROR');
          // Past the header's own checks (magic, version, type, lengths), the checksum is what refuses it.
          if (i >= FRAME_HEADER_BYTES) expect(isChecksumError(error)).toBe(true);
        }),
        { numRuns: 1000 },
      );
    });

    it('reads a frame without one, as an older build sends it, exactly as before', () => {
      const m = { type: 'result' as const, requestId: 9, outputs: { x: { type: 'float32' as const, dims: [2], data: Float32Array.of(1, 2) } } };
      const frame = encodeFrame(m);
      expect(readFrameHeader(frame).checksummed).toBe(true);
      expect(readFrameHeader(unchecksummed(frame)).checksummed).toBe(false);
      expect(plain(decodeFrame(unchecksummed(frame)))).toEqual(plain(decodeFrame(frame)));
    });

    it('refuses an unflagged frame on a link whose peer checksums, and reads one from a peer that never does', () => {
      const policy = new ChecksumPolicy();
      const [checked, older] = [{}, {}];
      const frame = encodeFrame({ type: 'ping', requestId: 1 });
      policy.check(older, unchecksummed(frame));
      policy.check(older, unchecksummed(frame));
      policy.check(checked, frame);
      let error: unknown;
      try {
        policy.check(checked, unchecksummed(frame));
      } catch (err) {
        error = err;
      }
      expect(isChecksumError(error)).toBe(true);
    });
  });

  describe('submit trace context', () => {
    const submit = { type: 'submit' as const, requestId: 3, serviceId: 's', budgetMs: 5, hops: 0, maxHops: 2, visited: ['a'], priority: 1, inputs: { x: { type: 'float32' as const, dims: [1], data: new Float32Array([2]) } } };
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'v=1', requestId: 'req-42' };

    it('carries the trace context behind a header flag, and decodes it back', () => {
      const frame = encodeFrame({ ...submit, trace });
      expect(readFrameHeader(frame).flags).toBe(SUBMIT_FLAG_TRACE);
      const m = decodeFrame(frame);
      expect(m).toMatchObject({ type: 'submit', flags: SUBMIT_FLAG_TRACE, trace, serviceId: 's', priority: 1 });
      expect(m.type === 'submit' && Array.from(m.inputs['x']!.data as Float32Array)).toEqual([2]);
    });

    it('leaves a submit without one byte for byte as before (version-1 peers read it), and copied flags cannot lie', () => {
      const plainFrame = encodeFrame(submit);
      expect(readFrameHeader(plainFrame).flags).toBe(0);
      expect(decodeFrame(plainFrame)).not.toHaveProperty('trace');
      expect(encodeFrame({ ...submit, flags: SUBMIT_FLAG_TRACE })).toEqual(plainFrame);
      // The traced frame is the plain one plus the trace section: same fixed fields, same tensor bytes.
      expect(encodeFrame({ ...submit, trace }).byteLength).toBeGreaterThan(plainFrame.byteLength);
    });

    it('drops a malformed trace context from a peer instead of failing the request', () => {
      const m = decodeFrame(encodeFrame({ ...submit, trace: { traceparent: 'not-a-traceparent', requestId: 'r 1' } }));
      expect(m).toMatchObject({ type: 'submit', serviceId: 's' });
      expect(m).not.toHaveProperty('trace');
      const idOnly = decodeFrame(encodeFrame({ ...submit, trace: { traceparent: 'bad', requestId: 'r1' } }));
      expect(idOnly).toMatchObject({ trace: { requestId: 'r1' } });
    });

    it('refuses a frame whose flag promises a trace section that is not there', () => {
      const frame = encodeFrame(submit);
      new DataView(frame.buffer).setUint16(4, SUBMIT_FLAG_TRACE, true);
      expect(protocolCode(() => decodeFrame(frame))).toBe('PROTOCOL_ERROR');
    });
  });

  describe('sync-token entry runs', () => {
    const entry = { serverId: 'x', epoch: 2000, version: 3, ageMs: 4, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {} };
    const entries: WireViewEntry[] = [{ ...entry, run: { epoch: 2000, instance: 22 } }, { ...entry, serverId: 'y' }];
    const token = { origin: 'a', epoch: 1, round: 2, full: true, wantFull: false, entries, stubs: [] };
    const message = { type: 'sync-token' as const, from: 'a', token };

    it('carries each entry run behind a header flag', () => {
      const m = decodeFrame(encodeFrame({ ...message, flags: SYNC_FLAG_RUNS }));
      expect(m.type === 'sync-token' && m.token.entries.map((e) => e.run)).toEqual([{ epoch: 2000, instance: 22 }, undefined]);
    });

    it('leaves a token without the flag byte for byte as before (older builds read it), its runs dropped', () => {
      const bare = { ...message, token: { ...token, entries: token.entries.map(({ run: _run, ...e }) => e) } };
      const frame = encodeFrame(message);
      expect(frame).toEqual(encodeFrame(bare));
      const m = decodeFrame(frame);
      expect(m.type === 'sync-token' && m.token.entries.every((e) => !('run' in e))).toBe(true);
    });

    it('refuses a frame whose flag promises a run section that is not there, or a run instance that is not a safe integer', () => {
      const frame = encodeFrame(message);
      new DataView(frame.buffer).setUint16(4, SYNC_FLAG_RUNS, true);
      expect(protocolCode(() => decodeFrame(frame))).toBe('PROTOCOL_ERROR');
      const bad = { ...message, flags: SYNC_FLAG_RUNS, token: { ...token, entries: [{ ...entry, run: { epoch: 1, instance: 0.5 } }] } };
      expect(protocolCode(() => decodeFrame(encodeFrame(bad)))).toBe('PROTOCOL_ERROR');
    });
  });

  describe('sync-token entry items', () => {
    const entry = { serverId: 'x', epoch: 2000, version: 3, ageMs: 4, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {} };
    const items = { s: { separability: 'separable' as const, batchAxes: { inputs: { x: 1, k: null }, outputs: { y: 0 } } }, t: { separability: 'unknown' as const }, u: { separability: 'not-separable' as const } };
    const entries: WireViewEntry[] = [{ ...entry, items, run: { epoch: 2000, instance: 22 } }, { ...entry, serverId: 'y' }];
    const token = { origin: 'a', epoch: 1, round: 2, full: true, wantFull: false, entries, stubs: [] };
    const message = { type: 'sync-token' as const, from: 'a', token };

    it('carries each entry items behind a header flag, with or without runs', () => {
      for (const flags of [SYNC_FLAG_ITEMS, SYNC_FLAG_ITEMS | SYNC_FLAG_RUNS]) {
        const m = decodeFrame(encodeFrame({ ...message, flags }));
        expect(m.type === 'sync-token' && m.token.entries.map((e) => e.items)).toEqual([items, undefined]);
      }
    });

    it('leaves a token without the flag as before (older builds read it), its items dropped', () => {
      const bare = { ...message, token: { ...token, entries: token.entries.map(({ items: _items, ...e }) => e) } };
      expect(encodeFrame({ ...message, flags: SYNC_FLAG_RUNS })).toEqual(encodeFrame({ ...bare, flags: SYNC_FLAG_RUNS }));
      const m = decodeFrame(encodeFrame(message));
      expect(m.type === 'sync-token' && m.token.entries.every((e) => !('items' in e))).toBe(true);
    });

    it('refuses a frame whose flag promises an items section that is not there, or an unknown separability', () => {
      const frame = encodeFrame(message);
      new DataView(frame.buffer).setUint16(4, SYNC_FLAG_ITEMS, true);
      expect(protocolCode(() => decodeFrame(frame))).toBe('PROTOCOL_ERROR');
      const bad = { ...message, flags: SYNC_FLAG_ITEMS, token: { ...token, entries: [{ ...entry, items: { s: { separability: 'maybe' } } }] } };
      expect(protocolCode(() => decodeFrame(encodeFrame(bad as never)))).toBe('PROTOCOL_ERROR');
    });
  });

  describe('incarnation', () => {
    it('carries a run epoch and an instance exactly, and refuses an instance that is not a safe integer', () => {
      const m = { type: 'incarnation' as const, epoch: 1_700_000_000_123, instance: 2 ** 53 - 1 };
      expect(decodeFrame(encodeFrame(m))).toMatchObject(m);
      for (const instance of [0.5, -1, 2 ** 53]) {
        expect(protocolCode(() => decodeFrame(encodeFrame({ ...m, instance })))).toBe('PROTOCOL_ERROR');
      }
    });
  });
});
