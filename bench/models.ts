/**
 * `pnpm bench:models`: the model-parallel pipeline and LM generation figures, each against its baseline
 * measured in the same run.
 * - pipeline: a generated MLP split in two equal halves on two one-thread devices vs the whole model on one
 *   one-thread device, same batch (ideal 2×), with worker-to-worker hand-offs and, for comparison, with
 *   hand-offs through the main thread (and the hand-off bytes per item that crossed the main thread, and the main
 *   thread's own CPU per item as a share of the stages' compute: `pipelineMainThreadCpuShare`, `…ViaHost`);
 * - generation: iteration-level batching (8 sequences per step) vs one-by-one generation on the same model,
 *   device kind and requests, for the recompute LM and for the KV-cache LM.
 * Last line: one JSON object with the figures.
 */
import { measurePipelineSpeedup } from './lib/pipeline.js';
import { measureGenerationBatching } from './lib/generation.js';

const pipeline = await measurePipelineSpeedup();
console.log(`pipeline (2 stages, 2 × 1 thread, worker-to-worker hand-offs) ${pipeline.pipelineItemsPerSec.toFixed(0)} items/s vs whole model (1 × 1 thread) ${pipeline.wholeItemsPerSec.toFixed(0)} items/s, batch ${pipeline.batchSize}: ${pipeline.speedup.toFixed(2)}×; hand-off bytes/item through the main thread ${pipeline.hostHandoffBytesPerItem.toFixed(0)}, worker to worker ${pipeline.directHandoffBytesPerItem.toFixed(0)}`);
console.log(`pipeline with hand-offs through the main thread ${pipeline.viaHostItemsPerSec.toFixed(0)} items/s: ${pipeline.speedupViaHost.toFixed(2)}× (${pipeline.hostHandoffBytesPerItemViaHost.toFixed(0)} bytes/item through the main thread)`);
const us = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(1)} µs`);
const share = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);
console.log(
  `main thread's CPU per item: ${us(pipeline.mainThreadCpuUsPerItem)} worker to worker (${share(pipeline.mainThreadCpuShare)} of the stages' compute), ${us(pipeline.mainThreadCpuUsPerItemViaHost)} through the main thread (${share(pipeline.mainThreadCpuShareViaHost)})`,
);
const gen = await measureGenerationBatching();
const genKv = await measureGenerationBatching({ kvCache: true });
for (const [label, g] of [['recompute', gen], ['KV cache', genKv]] as const) {
  console.log(`generation (${label}) batched (maxBatch ${g.maxBatch}) ${g.batchedTokensPerSec.toFixed(0)} tok/s vs one-by-one ${g.oneByOneTokensPerSec.toFixed(0)} tok/s: ${g.speedup.toFixed(2)}× (TTFT p50 ${g.batchedTtftP50Ms.toFixed(0)} vs ${g.oneByOneTtftP50Ms.toFixed(0)} ms), identical tokens: ${g.identical}`);
}
console.log(
  JSON.stringify({
    pipelineSpeedup2: round(pipeline.speedup),
    pipelineSpeedup2ViaHost: round(pipeline.speedupViaHost),
    pipelineHandoffBytesPerItemMainThread: round(pipeline.hostHandoffBytesPerItem),
    pipelineHandoffBytesPerItemMainThreadViaHost: round(pipeline.hostHandoffBytesPerItemViaHost),
    pipelineHandoffBytesPerItemDirect: round(pipeline.directHandoffBytesPerItem),
    pipelineMainThreadCpuShare: pipeline.mainThreadCpuShare === null ? null : round3(pipeline.mainThreadCpuShare),
    pipelineMainThreadCpuShareViaHost: pipeline.mainThreadCpuShareViaHost === null ? null : round3(pipeline.mainThreadCpuShareViaHost),
    generationBatchedSpeedup: round(gen.speedup),
    generationTokensPerSecBatched: round(gen.batchedTokensPerSec),
    generationTokensPerSecOneByOne: round(gen.oneByOneTokensPerSec),
    generationIdenticalTokens: gen.identical && genKv.identical,
    generationKvBatchedSpeedup: round(genKv.speedup),
    generationKvTokensPerSecBatched: round(genKv.batchedTokensPerSec),
    generationKvTokensPerSecOneByOne: round(genKv.oneByOneTokensPerSec),
  }),
);

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
