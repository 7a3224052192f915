/**
 * Measurement of generation throughput with iteration-level batching against one-by-one generation (the
 * same engine with `maxBatch: 1`, which is what serving a causal LM without batching does), on the same
 * generated tiny causal LM, the same one-thread device kind and the same requests. Both runs get every
 * request at once, so both devices are always busy; outputs are checked to be identical.
 */
import { performance } from 'node:perf_hooks';
import { createSeededRandom } from '@epara/core';
import { buildTinyCausalLm, createDevice, createGenerationEngine } from '@epara/runtime';

/** Options of {@link measureGenerationBatching}. */
export interface GenerationBatchingOptions {
  /** Requests in the workload. @default 24 */
  readonly requests?: number;
  /** Sequences per decode step in the batched run. @default 8 */
  readonly maxBatch?: number;
  /** Use the LM variant with a KV cache (prefill + one-token decode steps) instead of full recomputation. @default false */
  readonly kvCache?: boolean;
}

/** Result of {@link measureGenerationBatching}. */
export interface GenerationBatchingResult {
  readonly batchedTokensPerSec: number;
  readonly oneByOneTokensPerSec: number;
  readonly speedup: number;
  readonly batchedTtftP50Ms: number;
  readonly oneByOneTtftP50Ms: number;
  /** True when both runs produced exactly the same tokens for every request. */
  readonly identical: boolean;
  readonly requests: number;
  readonly maxBatch: number;
  readonly kvCache: boolean;
}

async function run(maxBatch: number, model: Uint8Array, work: { tokens: number[]; maxNewTokens: number }[]) {
  const device = createDevice({ id: `gen-${maxBatch}`, threads: 1 });
  const engine = createGenerationEngine({ device, model: { bytes: model }, maxBatch, maxSeq: 64 });
  try {
    await engine.start();
    await engine.generate({ tokens: [1, 2, 3], maxNewTokens: 4 }).collect(); // warm-up
    const t0 = performance.now();
    const ttft: number[] = [];
    const outputs = await Promise.all(
      work.map(async (w) => {
        const out: number[] = [];
        for await (const t of engine.generate(w)) {
          if (out.length === 0) ttft.push(performance.now() - t0);
          out.push(t);
        }
        return out;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const tokens = outputs.reduce((n, o) => n + o.length, 0);
    return { outputs, tokensPerSec: tokens / seconds, ttftP50: ttft.sort((a, b) => a - b)[ttft.length >> 1]! };
  } finally {
    await engine.close();
    await device.close();
  }
}

/** Runs the workload one-by-one, then batched, and compares. */
export async function measureGenerationBatching(options: GenerationBatchingOptions = {}): Promise<GenerationBatchingResult> {
  const { requests = 24, maxBatch = 8, kvCache = false } = options;
  const model = buildTinyCausalLm({ vocab: 256, dModel: 64, layers: 2, heads: 4, maxSeq: 64, seed: 5, kvCache });
  const random = createSeededRandom(42);
  const work = Array.from({ length: requests }, () => ({
    tokens: Array.from({ length: 4 + Math.floor(random.next() * 17) }, () => Math.floor(random.next() * 256)),
    maxNewTokens: 16 + Math.floor(random.next() * 17),
  }));
  const single = await run(1, model, work);
  const batched = await run(maxBatch, model, work);
  return {
    batchedTokensPerSec: batched.tokensPerSec,
    oneByOneTokensPerSec: single.tokensPerSec,
    speedup: batched.tokensPerSec / single.tokensPerSec,
    batchedTtftP50Ms: batched.ttftP50,
    oneByOneTtftP50Ms: single.ttftP50,
    identical: JSON.stringify(batched.outputs) === JSON.stringify(single.outputs),
    requests,
    maxBatch,
    kvCache,
  };
}
