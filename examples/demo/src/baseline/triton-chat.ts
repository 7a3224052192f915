import { EparaError, type NamedTensors } from '@epara/core';
import type { GenerationEngine } from '@epara/runtime';
import { CHAT_NEW_TOKENS } from '../catalog.js';

/**
 * One chat turn on the baseline's generation engine (in-flight batching, as Triton serves LLMs through its
 * TensorRT-LLM backend): queue timeout = the SLO until the first token (Triton rejects only queued requests).
 */
export async function generateWithQueueTimeout(engine: GenerationEngine, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors> {
  const ids = Array.from(inputs['input_ids']!.data as BigInt64Array, Number);
  const abort = new AbortController();
  let started = false;
  const timer = setTimeout(() => started || abort.abort(), Math.max(0, timeoutMs));
  const tokens: number[] = [];
  try {
    for await (const t of engine.generate({ tokens: ids, maxNewTokens: CHAT_NEW_TOKENS, signal: abort.signal })) {
      started = true;
      tokens.push(t);
    }
  } catch (err) {
    if (abort.signal.aborted && !started) throw new EparaError('DEADLINE_EXCEEDED', 'chat turn timed out in the queue (timeout_action: REJECT)');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { tokens: { type: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) } };
}
