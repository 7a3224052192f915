import { describe, expect, it } from 'vitest';
import { decodeStringElements, encodeStringElements } from './string-elements.js';

const prefixed = (len: number, bytes: number[]): Uint8Array => new Uint8Array([len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24, ...bytes]);

describe('length-prefixed string elements', () => {
  it('writes each element as a little-endian u32 byte length and its UTF-8, and reads them back', () => {
    const strings = ['', 'a', 'é', '日本', '🙂'];
    const bytes = encodeStringElements(strings);
    expect(Array.from(bytes.subarray(0, 9))).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 97]);
    expect(bytes.byteLength).toBe(5 * 4 + 0 + 1 + 2 + 6 + 4);
    expect(decodeStringElements(bytes, strings.length)).toEqual(strings);
  });

  it('says where bytes are not the elements: no room for a length, a length past the end, bad UTF-8, bytes left over', () => {
    expect(decodeStringElements(new Uint8Array([1, 0]), 1)).toEqual({ fault: 'no-length', index: 0, left: 2 });
    expect(decodeStringElements(prefixed(5, [97, 98]), 1)).toEqual({ fault: 'overrun', index: 0, length: 5, left: 2 });
    expect(decodeStringElements(prefixed(2, [0xc3, 0x28]), 1)).toEqual({ fault: 'not-utf8', index: 0 });
    expect(decodeStringElements(prefixed(1, [97, 98]), 1)).toEqual({ fault: 'leftover', used: 5 });
    expect(decodeStringElements(new Uint8Array([0, 0, 0, 0]), 2)).toEqual({ fault: 'no-length', index: 1, left: 0 });
  });
});
