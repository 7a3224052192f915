import { latencyAt } from '@epara/core';
import { DEVICE_KINDS } from '../model/hardware.js';
import type { SimInstance } from '../world/types.js';

/**
 * The answer lengths (output tokens) an EPARA server's LLM instances produced for one service: the most recent
 * `capacity` of them, and from them the quantile of the longest answer of a pack of `n`. An LLM pack decodes
 * until its longest answer ends, and answer lengths are heavy-tailed (the Azure conversation trace: median 129,
 * 0.9 quantile 424, maximum 1000 tokens), so a pack of 15 runs ~2× as long as a profile of the mean says. The
 * server starts from the lengths the operator measured over the early window (as every system starts from the
 * demand measured there) and learns from the answers it returns (their lengths are known once generated).
 */
export class AnswerLengths {
  readonly #ring: Float64Array;
  #count = 0;
  #next = 0;
  #sorted: Float64Array | null = null;

  /**
   * @param capacity answers kept (the most recent), ≥ 1.
   * @param minSamples answers needed before {@link longestOf} answers (until then the caller keeps its profile).
   */
  constructor(capacity = 512, readonly minSamples = 20, prior: readonly number[] = []) {
    this.#ring = new Float64Array(Math.max(1, Math.floor(capacity)));
    // The most recent `capacity` of the prior (what the operator measured), replaced by the server's own answers.
    for (let i = Math.max(0, prior.length - this.#ring.length); i < prior.length; i++) this.record(prior[i]!);
  }

  /** Answers recorded and still kept. */
  get count(): number {
    return this.#count;
  }

  /** Notes one produced answer of `tokens` output tokens (ignored unless finite and ≥ 0). */
  record(tokens: number): void {
    if (!(tokens >= 0 && Number.isFinite(tokens))) return;
    this.#ring[this.#next] = tokens;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#count < this.#ring.length) this.#count++;
    this.#sorted = null;
  }

  /**
   * The `q`-quantile of the longest of `n` independent answers — the empirical quantile at level `q^(1/n)` —
   * or `undefined` while fewer than `minSamples` answers are known.
   */
  longestOf(n: number, q: number): number | undefined {
    if (this.#count < this.minSamples || this.#count === 0) return undefined;
    const s = (this.#sorted ??= this.#ring.slice(0, this.#count).sort());
    const level = Math.pow(Math.min(1, Math.max(0, q)), 1 / Math.max(1, n));
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil(level * s.length) - 1))]!;
  }
}

/**
 * Run time of an LLM pack of `n` on the instance, with the prompts at the profile's mean and the decode phase
 * lasting `longest` tokens (the world's LLM timing: prefill per prompt token, decode step `fixed + perItem·n`),
 * scaled for model-parallel pipelines as the world runs them. The profile's estimate for non-LLM instances.
 */
export function llmPackMs(inst: SimInstance, n: number, longest: number): number {
  const llm = inst.svc.llm;
  const profile = inst.svc.spec.profiles[inst.devices[0]!.kind]!;
  if (llm === undefined) return latencyAt(profile, n);
  const slowdown = DEVICE_KINDS[inst.devices[0]!.kind]?.slowdown ?? 1;
  const ms = slowdown * (n * llm.promptTokensMean * llm.prefillMsPerToken + longest * (llm.decodeFixedMs + llm.decodePerItemMs * n));
  return inst.plan.serviceStrategy === 'model-parallel' ? (ms * inst.plan.runMs) / latencyAt(profile, inst.plan.batchSize) : ms;
}
