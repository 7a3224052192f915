import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderedFlows } from './ordered-flows.js';

// Seeded: deterministic in CI; fast-check prints the seed and path of any failure. Explore with FC_SEED / FC_RUNS.
const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 200), seed: Number(process.env.FC_SEED ?? 20261205) };

/** A set (value > 0) or a delete (value 0) of one key in one row. */
const op = fc.record({ row: fc.nat({ max: 40 }), key: fc.nat({ max: 70 }), value: fc.oneof(fc.constant(0), fc.double({ min: 1e-9, max: 1e6, noNaN: true })) });

describe('OrderedFlows', () => {
  it('reads and iterates every row like a Map<number, number> after any sets and deletes (growing rows and keys)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 8 }), fc.nat({ max: 8 }), fc.array(op, { maxLength: 300 }), (rowsHint, keysHint, ops) => {
        const flows = new OrderedFlows(rowsHint, keysHint);
        const maps = new Map<number, Map<number, number>>();
        for (const { row, key, value } of ops) {
          const m = maps.get(row) ?? new Map<number, number>();
          maps.set(row, m);
          if (value > 0) {
            flows.set(row, key, value);
            m.set(key, value);
          } else {
            flows.delete(row, key);
            m.delete(key);
          }
        }
        // One comparison per run (an expect per key made the test slow): every row's order, then every value.
        const got: number[][] = [];
        const want: number[][] = [];
        for (let row = 0; row <= 41; row++) {
          const order: number[] = [];
          for (let k = flows.first(row); k >= 0; k = flows.after(row, k)) order.push(k, flows.get(row, k));
          got.push(order);
          want.push([...(maps.get(row) ?? [])].flat());
          const values: number[] = [];
          const expected: number[] = [];
          for (let key = 0; key <= 71; key++) values.push(flows.get(row, key)), expected.push(maps.get(row)?.get(key) ?? 0);
          got.push(values);
          want.push(expected);
        }
        expect(got).toEqual(want);
      }),
      RUNS,
    );
  });
});
