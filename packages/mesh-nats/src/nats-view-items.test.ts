import { describe, expect, it } from 'vitest';
import { decodeEntryItems, encodeEntryItems, itemsKeyOf } from './nats-view-items.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

describe('a server items value in the NATS KV view', () => {
  it('round-trips separability and batch axes, a shared input as null', () => {
    const value = { serverId: 'edge-1', epoch: 3, items: { vad: { separability: 'separable' as const, batchAxes: { inputs: { input: 0, state: 1, sr: null }, outputs: { output: 0 } } }, cls: { separability: 'unknown' as const } } };
    expect(decodeEntryItems(encodeEntryItems(value))).toEqual(value);
  });

  it('lives beside the view key, under its own prefix', () => {
    expect(itemsKeyOf('srv.edge-1')).toBe('itm.edge-1');
    expect(itemsKeyOf('srv.=6120b')).toBe('itm.=6120b');
  });

  it.each([
    ['not JSON', new Uint8Array([0x7b, 0xff])],
    ['an array', enc([])],
    ['no serverId', enc({ epoch: 1, items: {} })],
    ['an epoch that is not a number', enc({ serverId: 'a', epoch: '1', items: {} })],
    ['an unknown separability', enc({ serverId: 'a', epoch: 1, items: { s: { separability: 'maybe' } } })],
    ['a negative axis', enc({ serverId: 'a', epoch: 1, items: { s: { separability: 'separable', batchAxes: { inputs: { x: -1 }, outputs: {} } } } })],
    ['a fractional axis', enc({ serverId: 'a', epoch: 1, items: { s: { separability: 'separable', batchAxes: { inputs: { x: 0.5 }, outputs: {} } } } })],
    ['axes without outputs', enc({ serverId: 'a', epoch: 1, items: { s: { separability: 'separable', batchAxes: { inputs: {} } } } })],
    ['an empty service name', enc({ serverId: 'a', epoch: 1, items: { '': { separability: 'unknown' } } })],
    ['too many services', enc({ serverId: 'a', epoch: 1, items: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`s${i}`, { separability: 'unknown' }])) })],
  ])('refuses %s with PROTOCOL_ERROR', (_, bytes) => {
    expect(() => decodeEntryItems(bytes)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });

  it('reads a service named like an Object prototype key as data', () => {
    const got = decodeEntryItems(new TextEncoder().encode('{"serverId":"a","epoch":1,"items":{"__proto__":{"separability":"unknown"},"constructor":{"separability":"separable"}}}'));
    expect(Object.keys(got.items).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.hasOwn(got.items, '__proto__') && got.items['__proto__']!.separability).toBe('unknown');
  });
});
