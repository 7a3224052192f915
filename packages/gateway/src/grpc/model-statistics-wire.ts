import type { DurationStat, ModelStatistics } from '../inference/model-statistics.js';
import { messageField, stringField, varintField } from './message-fields.js';
import type { Fields } from './message-fields.js';

/** `StatisticDuration`: count 1, ns 2. */
function duration(d: DurationStat): Buffer {
  const f: Fields = [];
  varintField(f, 1, d.count);
  varintField(f, 2, d.ns);
  return Buffer.concat(f);
}

/** One `ModelStatistics` message (Triton's `grpc_service.proto`). */
function modelStatistics(s: ModelStatistics): Buffer {
  const f: Fields = [];
  stringField(f, 1, s.name);
  stringField(f, 2, s.version);
  varintField(f, 3, s.last_inference);
  varintField(f, 4, s.inference_count);
  varintField(f, 5, s.execution_count);
  const i = s.inference_stats;
  const inference: Fields = [];
  [i.success, i.fail, i.queue, i.compute_input, i.compute_infer, i.compute_output, i.cache_hit, i.cache_miss].forEach((d, k) => messageField(inference, k + 1, duration(d)));
  messageField(f, 6, Buffer.concat(inference));
  for (const b of s.batch_stats) {
    const batch: Fields = [];
    varintField(batch, 1, b.batch_size);
    messageField(batch, 2, duration(b.compute_input));
    messageField(batch, 3, duration(b.compute_infer));
    messageField(batch, 4, duration(b.compute_output));
    messageField(f, 7, Buffer.concat(batch));
  }
  return Buffer.concat(f);
}

/**
 * Triton's `ModelStatisticsResponse` (the `ModelStatistics` RPC of its `GRPCInferenceService`, what tritonclient's
 * `get_inference_statistics` calls): `model_stats` (1), each a `ModelStatistics` — name 1, version 2,
 * last_inference 3, inference_count 4, execution_count 5, inference_stats 6 (`InferStatistics`: success 1, fail
 * 2, queue 3, compute_input 4, compute_infer 5, compute_output 6, cache_hit 7, cache_miss 8), batch_stats 7
 * (`InferBatchStatistics`: batch_size 1, compute_input 2, compute_infer 3, compute_output 4).
 */
export function encodeModelStatisticsResponse(stats: readonly ModelStatistics[]): Buffer {
  const f: Fields = [];
  for (const s of stats) messageField(f, 1, modelStatistics(s));
  return Buffer.concat(f);
}
