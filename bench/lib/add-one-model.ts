import { createGraphBuilder } from '@epara/runtime';

/** The overhead benches' model: `y = x + 1` on `f32[batch, 4]`, so a run costs next to nothing beyond its call. */
export function addOneModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'add-one', seed: 1 });
  g.input('x', 'float32', ['batch', 4]);
  g.node('Add', ['x', g.constant('one', 'float32', [1], [1])], ['y']);
  g.output('y', 'float32', ['batch', 4]);
  return g.toBytes();
}
