import type { Clock, ParallelPlan } from '@epara/core';
import type { DeviceHandle, ModelSource } from '../devices/device-port.js';
import { createPipelineEngine } from '../parallel/model-parallel-engine.js';
import { createGenerationEngine, type GenerationEngine } from '../generation/generation-engine.js';
import { createGenerationService } from '../generation/generation-service.js';
import type { Logger } from '@epara/core';
import type { ExecutorServiceOptions, GenerationServiceConfig, StagedModel } from './executor-options.js';
import type { ServiceEngine } from './service-engine.js';
import type { DeviceWorkQueue } from './device-work.js';

/** What an engine-backed service got at load. */
export interface BuiltEngine {
  readonly engine: ServiceEngine;
  /** Set for generation services: the engine that streams tokens. */
  readonly generation?: GenerationEngine;
}

/** True when a service runs on a built-in engine (pipeline stages or generation) instead of the batcher. */
export function usesBuiltinEngine(s: ExecutorServiceOptions): boolean {
  return isStaged(s.model) || s.generation !== undefined;
}

/** Devices a built-in engine needs: one per stage, one for generation. */
export function builtinDeviceCount(s: ExecutorServiceOptions): number {
  return isStaged(s.model) ? s.model.stages.length : 1;
}

/** True for a `{ stages }` model. */
export function isStaged(m: ExecutorServiceOptions['model']): m is StagedModel {
  return typeof m === 'object' && m !== null && !(m instanceof Uint8Array) && Array.isArray((m as StagedModel).stages);
}

function source(m: string | Uint8Array): ModelSource {
  return typeof m === 'string' ? { path: m } : { bytes: m };
}

/**
 * Builds the models helper's engines over the executor's devices: a model-parallel pipeline (one stage per
 * device, in order) or a language-model generation engine served as a service.
 */
export async function buildBuiltinEngine(o: {
  service: ExecutorServiceOptions;
  devices: readonly DeviceHandle[];
  /** The devices' schedulers: a generation engine queues its steps there. */
  workQueues?: readonly DeviceWorkQueue[];
  plan: Partial<ParallelPlan>;
  clock: Clock;
  logger: Logger;
  /** The executor's `maxResponseBytes`, for a service that sets none. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}): Promise<BuiltEngine> {
  const s = o.service;
  const start = o.signal ? { signal: o.signal } : {};
  const maxResponseBytes = s.maxResponseBytes ?? o.maxResponseBytes;
  const limit = maxResponseBytes === undefined ? {} : { maxResponseBytes };
  if (isStaged(s.model)) {
    const stages = s.model.stages.map((m, i) => ({ device: o.devices[i]!, model: source(m) }));
    const engine = createPipelineEngine({ ...s.pipeline, ...limit, stages, batchSize: o.plan.batchSize ?? s.pipeline?.batchSize ?? 8, clock: o.clock, logger: o.logger });
    await engine.start(start);
    return { engine };
  }
  const g = s.generation as GenerationServiceConfig;
  const { maxNewTokens, inputName, outputName, typicalPromptTokens, ...engineOptions } = g;
  const generation = createGenerationEngine({ ...engineOptions, device: o.devices[0]!, ...(o.workQueues?.[0] ? { workQueue: o.workQueues[0] } : {}), model: source(s.model as string | Uint8Array), clock: o.clock, logger: o.logger });
  await generation.start(start);
  const engine = createGenerationService(generation, {
    maxNewTokens,
    ...(inputName ? { inputName } : {}),
    ...(outputName ? { outputName } : {}),
    ...(typicalPromptTokens ? { typicalPromptTokens } : {}),
    ...limit,
  });
  return { engine, generation };
}
