import type { WorkloadSpec } from './workload.js';

/** Which categories a generated mix contains. */
export type MixKind = 'mixed' | 'latency' | 'frequency';

/** Options of {@link productionMix}. */
export interface ProductionMixOptions {
  /** Load multiplier: 1 is about one edge GPU's worth of work (see the table). @default 1 */
  readonly scale?: number;
  /** @default 'mixed' */
  readonly kind?: MixKind;
  /** Length of one diurnal cycle, ms (the chat load swings ±30% over it). @default 600000 */
  readonly dayMs?: number;
  /** Burstiness (coefficient of variation of inter-arrival gaps) of image and classifier requests. @default 2 */
  readonly burstCv?: number;
}

/**
 * A production-like mixed workload, documented so results can be reproduced. Per unit of `scale`:
 *
 * | service | category | arrivals | offered items/s |
 * |---|---|---|---|
 * | `llm-chat` | latency | diurnal (±30 % over `dayMs`), gaps CV 1.5 | 2 req/s |
 * | `seg-image` | latency | Gamma, CV `burstCv` (Azure-Functions-like bursts) | 40 req/s |
 * | `classify` | latency | Gamma, CV `burstCv` | 60 req/s |
 * | `seg-video` | frequency | 4 concurrent 15 fps sessions, 60 s mean | 60 frames/s |
 * | `hci` | frequency | 6 concurrent 10 Hz device loops, 120 s mean | 60 frames/s |
 *
 * Origins follow the `clients` weighting: most requests come from embedded boards and microcomputers.
 * One unit is roughly one reference GPU of work at the plans EPARA picks; a 2-GPU server is ~2 units.
 */
export function productionMix(options: ProductionMixOptions = {}): WorkloadSpec {
  const scale = options.scale ?? 1;
  const kind = options.kind ?? 'mixed';
  const dayMs = options.dayMs ?? 600_000;
  const cv = options.burstCv ?? 2;
  const latency = kind !== 'frequency';
  const frequency = kind !== 'latency';
  // A category-only mix keeps the same total GPU work as the mixed one (doubles its half).
  const k = kind === 'mixed' ? scale : 2 * scale;
  return {
    origins: 'clients',
    requests: latency
      ? [
          { service: 'llm-chat', ratePerSec: 2 * k, process: { kind: 'diurnal', periodMs: dayMs, amplitude: 0.3, cv: 1.5 } },
          { service: 'seg-image', ratePerSec: 40 * k, process: { kind: 'gamma', cv } },
          { service: 'classify', ratePerSec: 60 * k, process: { kind: 'gamma', cv } },
        ]
      : [],
    streams: frequency
      ? [
          { service: 'seg-video', concurrentStreams: round(4 * k) },
          { service: 'hci', concurrentStreams: round(6 * k) },
        ]
      : [],
  };
}

function round(x: number): number {
  return Math.max(0, Math.round(x));
}
