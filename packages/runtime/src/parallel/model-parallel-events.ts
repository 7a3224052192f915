import type { EparaErrorCode } from '@epara/core';

/** Payload of `batchDispatched`: a batch entered stage 0. */
export interface PipelineBatchDispatchedEvent {
  readonly batchId: number;
  readonly rows: number;
  readonly items: number;
  readonly at: number;
}

/** Payload of `stageStarted`: a batch was handed to a stage's device. */
export interface PipelineStageStartedEvent {
  readonly batchId: number;
  readonly stage: number;
  readonly at: number;
}

/** Payload of `stageCompleted`: a stage finished (or failed) a batch. */
export interface PipelineStageCompletedEvent {
  readonly batchId: number;
  readonly stage: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
}

/** Payload of `batchCompleted`: a batch left the pipeline, with results or with the error its items got. */
export interface PipelineBatchCompletedEvent {
  readonly batchId: number;
  readonly rows: number;
  readonly dispatchedAt: number;
  readonly completedAt: number;
  readonly ok: boolean;
  readonly errorCode?: EparaErrorCode;
}

/** Payload of `requestDropped`: a queued request was rejected before it ran. */
export interface PipelineRequestDroppedEvent {
  readonly reason: EparaErrorCode;
  readonly deadline: number;
  readonly at: number;
}

/** Events of a pipeline engine (eventemitter3 map). */
export interface PipelineEvents {
  batchDispatched: [PipelineBatchDispatchedEvent];
  stageStarted: [PipelineStageStartedEvent];
  stageCompleted: [PipelineStageCompletedEvent];
  batchCompleted: [PipelineBatchCompletedEvent];
  requestDropped: [PipelineRequestDroppedEvent];
}

/** Counters of a pipeline engine. */
export interface PipelineStats {
  readonly queued: number;
  readonly inFlightBatches: number;
  readonly completedBatches: number;
  readonly completedItems: number;
  readonly failedBatches: number;
  readonly dropped: number;
  /** Compute time per stage, ms (as the devices measured their runs). */
  readonly stageBusyMs: readonly number[];
  /** How stages hand values on: `direct` (worker to worker) or `host` (through this thread). */
  readonly handoff: 'direct' | 'host';
  /** Bytes of stage-to-stage values that went through this thread (sent to a device as a later stage's input). */
  readonly handoffBytesViaHost: number;
  /** Bytes of stage-to-stage values that workers sent each other directly. */
  readonly handoffBytesDirect: number;
}
