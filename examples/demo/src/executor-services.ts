import type { ServiceSpec } from '@epara/core';
import { createGenerationEngine, createGenerationService, type ExecutorServiceOptions } from '@epara/runtime';
import { CHAT_NEW_TOKENS, DEMO_SERVICES, NETWORK_BUDGET_MS } from './catalog.js';
import { LM_SHAPE, detectorPath, vadPath } from './models.js';
import { chatStepProfile, type DemoProfiles } from './profiles.js';

/** Sequences a chat instance decodes together (iteration-level batching). */
export const CHAT_MAX_BATCH = 8;

/**
 * The executor definitions of the five services: the detector twice (images and small video frames), the
 * generated LM as a generation engine (chat) and as a single-step model (device loop), and the stateful VAD.
 * Profiles are the ones measured at start-up, so loading does not profile again.
 */
export function executorServices(specs: readonly ServiceSpec[], profiles: DemoProfiles, lm: Uint8Array): ExecutorServiceOptions[] {
  const stepProfile = chatStepProfile(profiles.chat);
  return DEMO_SERVICES.map((d) => {
    const spec = specs.find((s) => s.id === d.id)!;
    const base = { id: d.id, sensitivity: d.sensitivity, slo: d.slo, profile: profiles[d.id], networkBudgetMs: spec.networkBudgetMs ?? NETWORK_BUDGET_MS };
    switch (d.id) {
      case 'image':
      case 'video':
        return { ...base, model: detectorPath() };
      case 'loop':
        return { ...base, model: lm, outputNames: ['logits'] };
      case 'vad':
        return { ...base, model: vadPath(), stateful: { state: { state: 'stateN' } } };
      case 'chat':
        return {
          ...base,
          engine: async ({ devices, workQueues, clock, logger }) => {
            const engine = createGenerationEngine({ device: devices[0]!, workQueue: workQueues[0], model: { bytes: lm }, maxBatch: CHAT_MAX_BATCH, maxSeq: LM_SHAPE.maxSeq, stepProfile, clock, logger });
            await engine.start(); // load now, not on the first turn
            return createGenerationService(engine, { maxNewTokens: CHAT_NEW_TOKENS });
          },
        };
    }
  });
}
