import type { ServiceSpec } from '@epara/core';
import { createGenerationEngine, createGenerationService, type ExecutorServiceOptions } from '@epara/runtime';
import { CHAT_MAX_BATCH, CHAT_NEW_TOKENS, type DemoServiceId, type DemoServiceInfo } from './catalog.js';
import { LM_SHAPE, detectorPath, vadPath } from './models.js';
import { DEVICE_KIND, chatStepProfile, type DemoProfiles } from './profiles.js';

/**
 * One service of the demo, declared once: the runtime's service options — which extend core's `ServiceSpec`, so
 * the same object goes to core's allocation and placement, to `createExecutor` and to the mesh node — plus the
 * title and traffic shape the demo's clients and tables read.
 */
export interface DemoService extends ExecutorServiceOptions, DemoServiceInfo {
  readonly id: DemoServiceId;
  readonly memory: ServiceSpec['memory'];
  readonly profiles: ServiceSpec['profiles'];
}

/** What a run measures or generates before its services exist. */
export interface DemoRun {
  /** Profiles measured at start-up on a 1-thread device (every process of a run gets the same). */
  readonly profiles: DemoProfiles;
  /** The language model generated from the run's seed. */
  readonly lm: Uint8Array;
  /**
   * Deadline time a latency service budgets for the network: one round trip over the slowest link (one
   * offload, or the baseline's one forwarded hop). Both systems plan with it.
   */
  readonly networkBudgetMs: number;
}

const MB = 1024 * 1024;

/**
 * The demo's five services: the PP-OCR detector twice (images, and small video frames), the generated LM as a
 * generation engine (chat) and as a single-step model (device loop), and the stateful Silero VAD. Profiles are
 * the ones measured at start-up, so loading does not profile again. Declared memory (weights with session
 * overhead, and per item) is what placement and bin-packing use.
 */
export function demoServices(run: DemoRun): DemoService[] {
  const measured = (id: DemoServiceId): Pick<DemoService, 'profiles' | 'profile' | 'loadTimeMs' | 'maxBatch'> => ({
    profiles: { [DEVICE_KIND]: run.profiles[id] },
    profile: run.profiles[id],
    // The largest batch measured, as the runtime reads `maxBatch`: the executor grows a batch under backlog up to
    // it. Left at the runtime's default (32) with a profile measured to 4, a backlog grew image batches to 10 on
    // a straight-line guess of the profile — the guess core's allocation and the baseline's model analyzer
    // both refuse to plan with.
    maxBatch: run.profiles[id].points[run.profiles[id].points.length - 1]!.batch,
    loadTimeMs: 200,
  });
  const network = { networkBudgetMs: run.networkBudgetMs };
  return [
    {
      id: 'image',
      title: 'OCR detector, images',
      traffic: 'request',
      sensitivity: 'latency',
      slo: { kind: 'latency', deadlineMs: 300 },
      ...network,
      memory: { weightsBytes: 20 * MB, perItemBytes: 12 * MB },
      model: detectorPath(),
      ...measured('image'),
    },
    {
      id: 'chat',
      title: 'tiny LM, chat turns',
      traffic: 'request',
      sensitivity: 'latency',
      slo: { kind: 'latency', deadlineMs: 800 },
      ...network,
      memory: { weightsBytes: 8 * MB, perItemBytes: 1 * MB },
      // A generation engine on the device's scheduler: its prefill/decode steps are ordered with the other
      // services' batches. The step profile is derived from the measured turn profile (see chatStepProfile).
      engine: async ({ devices, workQueues, clock, logger }) => {
        const stepProfile = chatStepProfile(run.profiles.chat);
        const engine = createGenerationEngine({ device: devices[0]!, workQueue: workQueues[0], model: { bytes: run.lm }, maxBatch: CHAT_MAX_BATCH, maxSeq: LM_SHAPE.maxSeq, stepProfile, clock, logger });
        await engine.start(); // load now, not on the first turn
        return createGenerationService(engine, { maxNewTokens: CHAT_NEW_TOKENS });
      },
      ...measured('chat'),
    },
    {
      id: 'video',
      title: 'OCR detector, video',
      traffic: 'stream',
      sensitivity: 'frequency',
      slo: { kind: 'frequency', rateHz: 10, stalenessMs: 250 },
      networkBudgetMs: 0,
      memory: { weightsBytes: 20 * MB, perItemBytes: 3 * MB },
      model: detectorPath(),
      ...measured('video'),
    },
    {
      id: 'loop',
      title: 'tiny LM, device loop',
      traffic: 'stream',
      sensitivity: 'frequency',
      slo: { kind: 'frequency', rateHz: 20, stalenessMs: 100 },
      networkBudgetMs: 0,
      memory: { weightsBytes: 8 * MB, perItemBytes: 1 * MB },
      model: run.lm,
      outputNames: ['logits'],
      ...measured('loop'),
    },
    {
      id: 'vad',
      title: 'Silero VAD, audio',
      traffic: 'stream',
      sensitivity: 'frequency',
      slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 100 },
      networkBudgetMs: 0,
      memory: { weightsBytes: 6 * MB, perItemBytes: 0.1 * MB },
      model: vadPath(),
      stateful: { state: { state: 'stateN' } },
      ...measured('vad'),
    },
  ];
}
