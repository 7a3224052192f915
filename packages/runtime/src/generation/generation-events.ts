import type { EparaErrorCode } from '@epara/core';

/**
 * Why a sequence left the running batch. `deadline`: it could no longer finish by its deadline, even at the
 * measured compute time of its remaining steps (it ends with `DEADLINE_EXCEEDED`).
 */
export type LeaveReason = 'eos' | 'length' | 'aborted' | 'error' | 'closed' | 'deadline';

/** Payload of `sequenceJoined`: a waiting sequence joined the batch before step `step`. */
export interface SequenceJoinedEvent {
  readonly id: number;
  readonly step: number;
  readonly promptTokens: number;
  readonly at: number;
}

/** Payload of `sequenceLeft`: a sequence left the batch (finished, aborted or failed). */
export interface SequenceLeftEvent {
  readonly id: number;
  readonly step: number;
  readonly reason: LeaveReason;
  readonly generated: number;
  readonly at: number;
}

/** Payload of `stepCompleted`: one decode step over the batch. */
export interface StepCompletedEvent {
  readonly step: number;
  /** Sequences in the step. */
  readonly batch: number;
  /** Padded length of the step's input. */
  readonly seqLen: number;
  /** Ids of the sequences in the step. */
  readonly ids: readonly number[];
  /** When the step was queued for the device (it waits there behind other services' batches, by deadline). */
  readonly queuedAt: number;
  /** When it started on the device (after what the device held when it was launched). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Device compute time of the step, ms, when the device reports it (else the time from start to end). */
  readonly computeMs: number;
  /** The step's deadline in the device's earliest-deadline order, clock ms (`Infinity`: none). */
  readonly deadline: number;
}

/** Payload of `requestRejected`: a request was refused or dropped before producing a token. */
export interface RequestRejectedEvent {
  readonly id: number;
  readonly code: EparaErrorCode;
  readonly at: number;
}

/** Events of a generation engine (eventemitter3 map). */
export interface GenerationEvents {
  sequenceJoined: [SequenceJoinedEvent];
  sequenceLeft: [SequenceLeftEvent];
  stepCompleted: [StepCompletedEvent];
  requestRejected: [RequestRejectedEvent];
}

/** Counters of a generation engine. */
export interface GenerationStats {
  readonly active: number;
  readonly waiting: number;
  readonly steps: number;
  readonly tokensGenerated: number;
  readonly completed: number;
  readonly rejected: number;
  readonly aborted: number;
  /** Sequences that ended with an error: a failed step, closing, or a deadline they could no longer meet. */
  readonly failed: number;
  /** Largest number of sequences that shared one step. */
  readonly maxBatchSeen: number;
}
