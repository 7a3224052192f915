import type { NamedTensors } from '@epara/core';
import type { TimedRun } from '../devices/device-port.js';
import type { PipelineDataflow } from './model-parallel-plan.js';

/** Values a run receives from another stage's worker: what `link` carried for `batch`. */
export interface LinkInbound {
  readonly link: string;
  readonly batch: number;
}

/** Outputs a run hands to another stage's worker over `link`, tagged with `batch`. */
export interface LinkOutbound {
  readonly link: string;
  readonly batch: number;
  readonly names: readonly string[];
}

/** Options of {@link StageLinkDevice.runLinked}. */
export interface LinkedRunOptions {
  /** Outputs the session computes. */
  readonly outputNames: readonly string[];
  /** Of those, the ones returned to the host. */
  readonly keep: readonly string[];
  readonly inbound: readonly LinkInbound[];
  readonly outbound: readonly LinkOutbound[];
  /** Requests in the batch: the outputs may take the model's `maxResponseBytes` per request. @default not limited */
  readonly requests?: number;
}

/** A {@link TimedRun} that also says how many bytes went straight to other workers. */
export interface LinkedRun extends TimedRun {
  readonly forwardedBytes: number;
}

/**
 * A device whose worker can exchange tensors with another device's worker directly (a `MessageChannel`
 * between the two threads), so that pipeline hand-offs never pass through the host.
 */
export interface StageLinkDevice {
  /**
   * Opens `link` from this device's worker to `peer`'s. Resolves `false` when `peer` cannot be linked (not a
   * worker device of this process). A restarted worker has lost its links.
   */
  linkTo(peer: unknown, link: string): Promise<boolean>;
  /** Closes `link` on this device's side and drops values waiting on it. Never rejects. */
  unlink(link: string): Promise<void>;
  /**
   * Runs model `key` with `feeds` plus the values the `inbound` links carried for the batch, hands the
   * `outbound` outputs to their links and returns the `keep` outputs.
   * @throws EparaError as `run`; `WORKER_CRASHED` when an inbound link is gone (a worker restarted).
   */
  runLinked(key: string, feeds: NamedTensors, options: LinkedRunOptions): Promise<LinkedRun>;
}

/** Whether a device can hand tensors to another device's worker directly. */
export function hasStageLinks<T extends object>(device: T): device is T & StageLinkDevice {
  const d = device as Partial<StageLinkDevice>;
  return typeof d.linkTo === 'function' && typeof d.unlink === 'function' && typeof d.runLinked === 'function';
}

/** Where each stage's values go when stages hand them to each other directly. */
export interface StageRoutes {
  /** Per stage: consumer stage → names it receives from this stage. */
  readonly outbound: readonly ReadonlyMap<number, readonly string[]>[];
  /** Per stage: outputs the host needs back (returned outputs). */
  readonly keep: readonly (readonly string[])[];
}

/** Works out, for each stage output, which later stages read it and whether the host needs it. */
export function planRoutes(flow: PipelineDataflow): StageRoutes {
  const producer = new Map<string, number>();
  const outbound = flow.stages.map(() => new Map<number, string[]>());
  flow.stages.forEach((s, j) => {
    for (const name of s.inputs) {
      const from = producer.get(name);
      if (from === undefined) continue; // a request input: the host sends it
      const list = outbound[from]!.get(j) ?? [];
      list.push(name);
      outbound[from]!.set(j, list);
    }
    for (const name of s.outputs) producer.set(name, j);
  });
  const keep = flow.stages.map((s, i) => s.outputs.filter((name) => flow.outputNames.includes(name) && producer.get(name) === i));
  return { outbound, keep };
}
