import { bundledAzureLlmTrace, readAzureLlmTrace } from './azure-llm-trace.js';
import { productionMix, type MixKind } from './production-mix.js';
import type { WorkloadSpec } from './workload.js';

/** Options of {@link edgeMix}. */
export interface EdgeMixOptions {
  /** Load multiplier, as {@link productionMix}'s. @default 1 */
  readonly scale?: number;
  /** @default 'mixed' */
  readonly kind?: MixKind;
  /** Length of the run, ms (the chat trace is cut to it). */
  readonly durationMs: number;
  /** Hot spots move every this many ms. @default 60000 */
  readonly shiftEveryMs?: number;
  /** Zipf exponent of the entry skew. @default 0.9 */
  readonly zipfExponent?: number;
  /** Image and classifier requests arrive at this many times their mean rate for 2 s in every 20 s (1: no bursts). @default 4 */
  readonly burstFactor?: number;
  /** Chat arrivals from the bundled Azure LLM trace (true) or productionMix's synthetic diurnal process. @default true */
  readonly chatTrace?: boolean;
  /** Chat trace text to use instead of the bundled one (any CSV of the same columns). */
  readonly traceText?: string;
}

/**
 * The edge world's workload: {@link productionMix}'s services and volumes, with
 * - entry skew that moves: a Zipf over access servers re-drawn every `shiftEveryMs`, so the hot spots move
 *   during the run;
 * - bursts: image and classifier requests rise 4× (`burstFactor`) for 2 s in every 20 s (mean kept);
 * - chat arrivals and token counts replayed from the Azure LLM conversation trace, sped up to productionMix's
 *   chat rate (2 requests/s per unit of scale).
 */
export function edgeMix(options: EdgeMixOptions): WorkloadSpec {
  const scale = options.scale ?? 1;
  const kind = options.kind ?? 'mixed';
  const base = productionMix({ scale, kind });
  const origins = { kind: 'zipf', exponent: options.zipfExponent ?? 0.9, shiftEveryMs: options.shiftEveryMs ?? 60_000, base: 'uniform' } as const;
  const useTrace = options.chatTrace ?? true;
  const chat = (base.requests ?? []).find((r) => r.service === 'llm-chat');
  const requests = (base.requests ?? [])
    .filter((r) => !(useTrace && r.service === 'llm-chat'))
    .map((r) => (r.service === 'llm-chat' ? r : { ...r, process: { kind: 'bursts', periodMs: 20_000, burstMs: 2000, factor: options.burstFactor ?? 4 } as const }));
  if (!useTrace || chat === undefined) return { ...base, origins, requests };
  const text = options.traceText ?? bundledAzureLlmTrace();
  const probe = readAzureLlmTrace(text, {});
  const recordedRate = probe.length / Math.max(1, probe[probe.length - 1]!.timeMs / 1000);
  const trace = readAzureLlmTrace(text, { speedup: chat.ratePerSec / recordedRate, durationMs: options.durationMs });
  return { ...base, origins, requests, trace };
}
