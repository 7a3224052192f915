import { EparaError, invalidOption, type NamedTensors } from '@epara/core';
import type { EngineSubmitOptions, ServiceEngine } from '../executor/service-engine.js';
import type { GenerationEngine } from './generation-engine.js';

/** Options of {@link createGenerationService}. */
export interface GenerationServiceOptions {
  /** Tokens generated per request (the request's token limit). */
  readonly maxNewTokens: number;
  /** Input tensor holding the prompt: int64 or int32, `[1, T]` or `[T]`. @default 'input_ids' */
  readonly inputName?: string;
  /** Output tensor with the generated tokens, int64 `[1, n]`. @default 'tokens' */
  readonly outputName?: string;
  /** Prompt length assumed by `estimate` before any request was seen. @default 16 */
  readonly typicalPromptTokens?: number;
  /**
   * Largest answer one request may get, bytes (8 a token): a longer generation fails `OUT_OF_MEMORY`
   * (`details.reason: 'response-too-large'`), as any service's answer above its `maxResponseBytes`. @default no limit
   */
  readonly maxResponseBytes?: number;
}

/**
 * Hosts a {@link GenerationEngine} as an executor service: `submit` runs one whole generation (the
 * executor's deadline becomes the completion deadline) and returns the generated tokens as an int64 tensor.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the bad field.
 * @example
 * ```ts
 * const service = createGenerationService(engine, { maxNewTokens: 16 });
 * const out = await service.submit({ input_ids: prompt }, { deadline: Date.now() + 2000, priority: 0 });
 * ```
 */
export function createGenerationService(engine: GenerationEngine, options: GenerationServiceOptions): ServiceEngine {
  if (typeof engine?.generate !== 'function') invalidOption('engine', engine, 'a GenerationEngine');
  const maxNewTokens = options?.maxNewTokens;
  if (typeof maxNewTokens !== 'number' || !Number.isInteger(maxNewTokens) || maxNewTokens < 1) invalidOption('maxNewTokens', maxNewTokens, 'a positive integer');
  const limit = options.maxResponseBytes;
  if (limit !== undefined && (typeof limit !== 'number' || !(limit > 0))) invalidOption('maxResponseBytes', limit, 'a positive number of bytes');
  const inputName = options.inputName ?? 'input_ids';
  const outputName = options.outputName ?? 'tokens';
  let promptTokens = options.typicalPromptTokens ?? 16;
  return {
    async submit(inputs: NamedTensors, o: EngineSubmitOptions): Promise<NamedTensors> {
      const t = typeof inputs === 'object' && inputs !== null ? inputs[inputName] : undefined;
      if (typeof t !== 'object' || t === null || (t.type !== 'int64' && t.type !== 'int32') || !Array.isArray(t.dims) || t.dims.length > 2 || (t.dims.length === 2 && t.dims[0] !== 1)) {
        throw new EparaError('INVALID_INPUT', `${inputName} must be an int64/int32 tensor of shape [1, T] or [T]`, { name: inputName, input: inputName });
      }
      // The data's class must be the type's: token ids read from another array (a Float32Array called int64) would
      // be rounded or misread, not refused.
      const want = t.type === 'int64' ? BigInt64Array : Int32Array;
      if (!(t.data instanceof want)) {
        const got = (t.data as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? typeof t.data;
        throw new EparaError('INVALID_INPUT', `${inputName} is ${t.type}: its data must be a ${want.name}, given ${got}`, { name: inputName, input: inputName, expected: t.type, actual: got });
      }
      if (t.data.length !== t.dims.reduce((a: number, b: number) => a * b, 1)) {
        throw new EparaError('INVALID_INPUT', `${inputName} holds ${t.data.length} values for dims [${t.dims.join(', ')}]`, { name: inputName, input: inputName });
      }
      const tokens = Array.from(t.data as ArrayLike<number | bigint>, Number);
      promptTokens = tokens.length;
      const generated = await engine
        .generate({ tokens, maxNewTokens, deadline: o.deadline, ...(o.signal ? { signal: o.signal } : {}) })
        .collect();
      const bytes = generated.length * 8;
      if (limit !== undefined && bytes > limit) {
        throw new EparaError(
          'OUT_OF_MEMORY',
          `generation: its answer takes ${bytes} bytes (${generated.length} tokens), above maxResponseBytes (${limit} per request): the response is refused`,
          { reason: 'response-too-large', outputBytes: bytes, maxResponseBytes: limit, requests: 1, output: outputName },
        );
      }
      return { [outputName]: { type: 'int64', dims: [1, generated.length], data: BigInt64Array.from(generated, BigInt) } };
    },
    estimate(now: number): number {
      return engine.estimate({ promptTokens, maxNewTokens }, now).completionAt;
    },
    close: () => engine.close(),
  };
}
