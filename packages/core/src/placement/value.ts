import type { ServiceNode } from './model.js';

/**
 * Value of serving `served` items/s of a service:
 * `w × (δ × served + (1 − δ) × min(served, forecast) + bonus × min(served, floor))`. The floor term puts the first
 * `minServedShare` of every service's demand ahead of any service's surplus; `w` is the value of one item
 * ({@link ServiceNode.weight}); items beyond the forecast (the input's headroom) are worth `δ = headroomValue` of
 * one. Each term is a non-negative multiple of `served` or of a truncation of it, and a truncated monotone
 * submodular function is monotone submodular, so the objective keeps that structure for any `δ` in [0, 1].
 */
export function serviceValue(svc: ServiceNode, served: number): number {
  const d = svc.headroomValue;
  const base = d === 1 ? served : d * served + (1 - d) * Math.min(served, svc.forecastPerSec);
  return svc.weight * (base + svc.floorBonus * Math.min(served, svc.floorPerSec));
}

/** Value added by `delta` more items/s on top of `served`. */
export function valueGain(svc: ServiceNode, served: number, delta: number): number {
  return serviceValue(svc, served + delta) - serviceValue(svc, served);
}

/** Value lost when `served` drops by `loss` items/s. */
export function valueLoss(svc: ServiceNode, served: number, loss: number): number {
  return serviceValue(svc, served) - serviceValue(svc, Math.max(0, served - loss));
}

/** Value still missing: all demand served minus what is served. */
export function valueGap(svc: ServiceNode, served: number): number {
  return serviceValue(svc, svc.totalDemand) - serviceValue(svc, served);
}
