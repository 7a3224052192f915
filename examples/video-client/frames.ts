import type { NamedTensors } from '@epara/core';

/** Frame size: the detector needs multiples of 32. */
export const FRAME = { width: 96, height: 64 } as const;

/** Where frame `k`'s text block starts (it moves 4 px right per frame and wraps). */
export function blockX(k: number): number {
  return (k * 4) % (FRAME.width - 40);
}

/**
 * Frame `k` of a deterministic synthetic video: a light background with a 32×10 dark "text" block whose x
 * position moves with `k`, already normalized as the detector expects (`x f32[1,3,64,96]`).
 */
export function frame(k: number): NamedTensors {
  const { width: W, height: H } = FRAME;
  const data = new Float32Array(3 * H * W);
  const x0 = blockX(k);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dark = y >= 27 && y < 37 && x >= x0 + 4 && x < x0 + 36;
        data[c * H * W + y * W + x] = dark ? -1.8 : 1.8;
      }
    }
  }
  return { x: { type: 'float32', dims: [1, 3, H, W], data } };
}

/** Mean column of the mask pixels above `threshold` (`NaN` when none): where the detector saw the text. */
export function maskCentroidX(outputs: NamedTensors, threshold = 0.3): number {
  const out = Object.values(outputs)[0]!;
  const W = out.dims[3]!;
  const probs = out.data as Float32Array;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i]! > threshold) {
      sum += i % W;
      n++;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}
