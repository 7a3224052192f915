import type { NamedTensors } from '@epara/core';
import type { Image } from './netpbm.js';

/** PP-OCR normalization (ImageNet mean and std per RGB channel). */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/** The detector needs sides that are multiples of 32; images are padded to the next one. */
export const STRIDE = 32;

const padTo = (n: number): number => Math.max(STRIDE, Math.ceil(n / STRIDE) * STRIDE);

/** Turns an image into the detector's input `x f32[1,3,H',W']` (padded with zeros to multiples of 32). */
export function toDetectorInput(img: Image): NamedTensors {
  const H = padTo(img.height);
  const W = padTo(img.width);
  const data = new Float32Array(3 * H * W);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * img.channels;
      for (let c = 0; c < 3; c++) {
        const v = img.pixels[p + (img.channels === 3 ? c : 0)]! / 255;
        data[c * H * W + y * W + x] = (v - MEAN[c]!) / STD[c]!;
      }
    }
  }
  return { x: { type: 'float32', dims: [1, 3, H, W], data } };
}

/** Thresholds the detector's probability map and crops the padding: 255 where text is likely, else 0. */
export function toMask(outputs: NamedTensors, width: number, height: number, threshold = 0.3): Uint8Array {
  const out = Object.values(outputs)[0]!;
  const W = out.dims[3]!;
  const probs = out.data as Float32Array;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) mask[y * width + x] = probs[y * W + x]! > threshold ? 255 : 0;
  }
  return mask;
}
