import type { Random } from '@epara/core';

/** An exponential variate with the given mean. */
export function sampleExponential(rng: Random, mean: number): number {
  return -mean * Math.log(1 - rng.next());
}

/** A standard normal variate (Box–Muller; one value per call, the pair's second is discarded for simplicity). */
export function sampleNormal(rng: Random): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Gamma(shape, scale) variate (Marsaglia–Tsang; shape < 1 through the boost `G(k+1)·U^(1/k)`). */
export function sampleGamma(rng: Random, shape: number, scale: number): number {
  if (shape < 1) {
    const u = 1 - rng.next();
    return sampleGamma(rng, shape + 1, scale) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}

/**
 * An inter-arrival time of a renewal process with mean `meanMs` and coefficient of variation `cv`:
 * `cv = 1` is Poisson (exponential gaps); larger values are burstier (Gamma with shape `1/cv²`).
 */
export function sampleInterArrival(rng: Random, meanMs: number, cv: number): number {
  if (cv === 1) return sampleExponential(rng, meanMs);
  const shape = 1 / (cv * cv);
  return sampleGamma(rng, shape, meanMs / shape);
}

