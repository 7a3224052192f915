import { createGraphBuilder } from '../graph-builder.js';
import { checkPositive } from './mlp.js';

/** Options of {@link buildConv3dVideoModel}. */
export interface Conv3dVideoModelOptions {
  /** Frames per clip (T). */
  readonly frames: number;
  /** Channels per frame (C), e.g. 3 for RGB. */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Classes of the classifier head. @default 10 */
  readonly classes?: number;
  /** Filters of the two 3-D convolutions. @default [8, 16] */
  readonly filters?: readonly [number, number];
  /** Weight seed. @default 0 */
  readonly seed?: number;
}

/**
 * A deterministic 3-D convolutional video classifier: `x f32[N, C, T, H, W]` → `logits f32[N, classes]`.
 * Layers: Conv3d(3×3×3, pad 1) → Relu → MaxPool(1×2×2) → Conv3d(3×3×3, pad 1) → Relu → GlobalAveragePool →
 * Flatten → Gemm. Intermediate values are named `conv1`, `pool1`, `conv2`, `pooled` (cut points for a split).
 *
 * @throws EparaError `INVALID_OPTIONS` for a non-positive size.
 * @example
 * ```ts
 * const bytes = buildConv3dVideoModel({ frames: 8, channels: 3, height: 32, width: 32, seed: 7 });
 * ```
 */
export function buildConv3dVideoModel(options: Conv3dVideoModelOptions): Uint8Array {
  const { frames, channels, height, width, classes = 10, filters = [8, 16], seed = 0 } = options;
  for (const [k, v] of Object.entries({ frames, channels, height, width, classes })) checkPositive(k, v);
  checkPositive('filters[0]', filters[0]);
  checkPositive('filters[1]', filters[1]);
  const g = createGraphBuilder({ name: 'conv3d-video', seed });
  g.input('x', 'float32', ['batch', channels, frames, height, width]);
  const conv = (x: string, cin: number, cout: number, name: string): string => {
    const w = g.weight(`${name}_w`, [cout, cin, 3, 3, 3], Math.sqrt(2 / (cin * 27)));
    const b = g.weight(`${name}_b`, [cout], 0.01);
    const y = g.op('Conv', [x, w, b], { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1] });
    return g.node('Relu', [y], [name])[0]!;
  };
  const c1 = conv('x', channels, filters[0], 'conv1');
  g.node('MaxPool', [c1], ['pool1'], { kernel_shape: [1, 2, 2], strides: [1, 2, 2] });
  const c2 = conv('pool1', filters[0], filters[1], 'conv2');
  g.node('GlobalAveragePool', [c2], ['pooled']);
  const flat = g.op('Flatten', ['pooled'], { axis: 1 });
  const w = g.weight('fc_w', [filters[1], classes], Math.sqrt(1 / filters[1]));
  g.node('Gemm', [flat, w, g.weight('fc_b', [classes], 0.01)], ['logits']);
  g.output('logits', 'float32', ['batch', classes]);
  return g.toBytes();
}
