import { expect, it } from 'vitest';
import { readControls } from './request-controls.js';

/*
 * Triton's `priority` is a uint64 (tritonclient sends it as a uint64_param over gRPC, a JSON integer over HTTP),
 * and Triton takes any: one past the model's levels runs at its default level. EPARA checks it and ignores it, so
 * every non-negative integer passes, past 2^53 too. A refused value past 2^53, which a JSON parser or a double
 * holds only approximately, is not quoted as the neighbouring number the client never sent.
 */

it("takes Triton's priority as any non-negative integer, past 2^53 too, and ignores it", () => {
  for (const priority of [0, 1, 2 ** 53 - 1, 2 ** 53 + 2, 18446744073709551615]) expect(readControls({ priority })).toEqual({});
  expect(() => readControls({ priority: -1 })).toThrow("priority must be a non-negative integer (Triton's priority level; accepted and ignored), got -1");
  expect(() => readControls({ priority: 1.5 })).toThrow(/got 1\.5$/);
});

it('does not quote an integer past 2^53 as the neighbouring number it was read as', () => {
  expect(() => readControls({ epara_priority: 18446744073709551615 })).toThrow(/^epara_priority must be a 32-bit integer, got an integer past 2\^53$/);
  expect(() => readControls({ priority: -18446744073709551615 })).toThrow(/got an integer past 2\^53$/);
});
