import type { NamedTensors, TensorLike } from '@epara/core';
import { sliceAlong } from '../tensors/stack.js';
import type { DeviceHandle } from '../devices/device-port.js';
import type { Logger } from '@epara/core';
import { checkBatchSeparable, type BatchVerdict } from './batch-check.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { own, type IoSpec } from './io-spec.js';
import { cloneTensors } from './model-inputs.js';
import { isFoundSample } from '../tensors/item-shapes.js';

/** What {@link BatchingDecision} needs of its instance. */
export interface BatchingDecisionContext {
  readonly instanceId: string;
  readonly service: ExecutorServiceOptions;
  /** The plan's batch size, when it fixes one. */
  readonly planBatchSize: number | undefined;
  readonly device: DeviceHandle;
  readonly io: IoSpec;
  readonly state: NamedTensors;
  readonly outputNames: readonly string[] | undefined;
  readonly logger: Logger;
  /** Called when a deferred check allowed batching (wake the schedulers). */
  readonly onBatchable: () => void;
}

/**
 * Decides whether an instance may stack requests (see `docs/runtime.md`, Batchability): the service's
 * `batchable` option, then the dim names, then a numeric batch-of-two check. A model with free non-batch dims
 * and no `sampleInputs` cannot be checked at load: it runs unbatched and is checked once, in the background,
 * with the first request's inputs.
 */
export class BatchingDecision {
  #verdict: BatchVerdict = { ok: false, reason: 'not decided yet' };
  #deferred = false;
  readonly #c: BatchingDecisionContext;

  constructor(c: BatchingDecisionContext) {
    this.#c = c;
  }

  get verdict(): BatchVerdict {
    return this.#verdict;
  }

  get ok(): boolean {
    return this.#verdict.ok;
  }

  /** True once the verdict is final: decided at load, not waiting for a first request to check with. */
  get settled(): boolean {
    return !this.#deferred;
  }

  /** Decides at load; logs why an instance runs unbatched. */
  async decide(signal: AbortSignal | undefined): Promise<void> {
    const s = this.#c.service;
    this.#verdict = await this.#decide(signal);
    if (this.#verdict.ok) return;
    const asked = s.batchable === false || this.#deferred || (s.maxBatch ?? 32) <= 1;
    this.#c.logger[asked ? 'info' : 'warn']({ instanceId: this.#c.instanceId, serviceId: s.id, reason: this.#verdict.reason }, 'service runs unbatched');
  }

  /** Sees a validated item: the first one runs a deferred check (the item's inputs are copied, not held). */
  observe(inputs: NamedTensors): void {
    // An empty request (a dim of 0) cannot show items mixing: a batch of two empties equals two single runs.
    if (!this.#deferred || emptyInput(this.#c.io, inputs) !== undefined) return;
    this.#deferred = false;
    void this.#check(firstItemOf(inputs, this.#c.io.inputAxes), undefined, true).then(
      (v) => {
        // Nothing to compare in this request's answers (NaN throughout), or nothing at all: the model refused to
        // answer the request alone (its values fail the run, its outputs are above the limit), which says nothing of
        // batching. The next request checks instead.
        if (!v.ok && (v.inconclusive || !v.refuted)) {
          this.#deferred = true;
          return;
        }
        this.#verdict = v;
        const log = { instanceId: this.#c.instanceId, serviceId: this.#c.service.id };
        if (v.ok) {
          this.#c.logger.info({ ...log, how: v.how }, 'service batches after checking its first request');
          this.#c.onBatchable();
        } else this.#c.logger.warn({ ...log, reason: v.reason }, 'service runs unbatched');
      },
      // The device closed or the run aborted: the instance is going away, unbatched.
      () => undefined,
    );
  }

  async #decide(signal: AbortSignal | undefined): Promise<BatchVerdict> {
    const { service: s, io } = this.#c;
    if (s.batchable === false) return { ok: false, reason: 'the service sets batchable: false' };
    // Each stream carries its own state: where the model leaves a state dim free besides the batch (a history that
    // grows frame by frame), two streams' states may differ in shape and cannot share a run, whatever the
    // service vouches for. Frames are packed by their own inputs' shapes, before the state they run with is known.
    const ragged = io.stateInputs.find((i) => i.anyRank === true || i.dims.some((d, axis) => d === null && axis !== i.batchAxis));
    if (ragged) return { ok: false, reason: `state input '${ragged.name}' has a free dim besides its batch axis: streams' states may differ in shape` };
    if (s.batchable === true) return { ok: true, how: 'the service sets batchable: true' };
    // Names that leave no batch (none free, an output with no place for one): items are no more separable than
    // the numeric check would find them — a front end must not split a request into items either.
    if (io.separability.kind === 'none') return { ok: false, reason: io.separability.reason, refuted: true };
    if ((s.maxBatch ?? 32) <= 1 && (this.#c.planBatchSize ?? 1) <= 1) return { ok: false, reason: 'maxBatch is 1' };
    // A sample the load found sized the free dims itself (the smallest that runs): only a request shows what they hold.
    const given = isFoundSample(s.sampleInputs) ? undefined : s.sampleInputs;
    const unsampled = io.inputs.filter((i) => own(given, i.name) === undefined && i.dims.includes(null)).map((i) => i.name);
    if (unsampled.length > 0) {
      this.#deferred = true;
      return { ok: false, reason: `inputs ${unsampled.join(', ')} have free dims and no sampleInputs: checked with the first request` };
    }
    const empty = s.sampleInputs && emptyInput(io, s.sampleInputs);
    // A sample the load found for a model of fixed dims is zeros or ones, and every second item made from a constant
    // is constant too: rows reversed after an ArgMax answered alike for all of them, and such a model was batched.
    // The check runs on generated values (alternating 0, 1; seeded floats) then, on the found sample only when the
    // model refuses those alone.
    let verdict = empty ? undefined : await this.#check(given, signal);
    const foundSample = given !== s.sampleInputs;
    if (verdict !== undefined && foundSample && !verdict.ok && verdict.refuted !== true) verdict = await this.#check(s.sampleInputs, signal);
    if (verdict !== undefined && (verdict.ok || !verdict.inconclusive)) return verdict;
    // Nothing to compare (empty sampleInputs, answers with no finite value): the first request that shows something checks.
    this.#deferred = true;
    return { ok: false, reason: empty ? `sampleInputs.${empty} holds no values: checked with the first request` : `${verdict!.reason}: checked with the first request` };
  }

  #check(sample: NamedTensors | undefined, signal: AbortSignal | undefined, isRequest = false): Promise<BatchVerdict> {
    return checkBatchSeparable({
      isRequest,
      device: this.#c.device,
      modelKey: this.#c.instanceId,
      io: this.#c.io,
      sample,
      state: this.#c.state,
      ...(this.#c.outputNames ? { outputNames: this.#c.outputNames } : {}),
      ...(signal ? { signal } : {}),
    });
  }
}

/**
 * The first input of `inputs` that holds no values (a dim of 0) where another request's could (a free dim; one
 * the model fixes to 0 is empty in every request), by name.
 */
function emptyInput(io: IoSpec, inputs: NamedTensors): string | undefined {
  for (const spec of io.inputs) if (inputs[spec.name]?.data.length === 0 && (spec.anyRank === true || spec.dims.includes(null))) return spec.name;
  return undefined;
}

/**
 * A copy of the first item of a request: its first row on every batch axis (a request of several rows is whole until
 * the check says requests stack, and the check compares items of one row).
 */
function firstItemOf(inputs: NamedTensors, axes: Readonly<Record<string, number | null>>): NamedTensors {
  const out: Record<string, TensorLike> = {};
  for (const [name, t] of Object.entries(cloneTensors(inputs))) {
    const axis = Object.hasOwn(axes, name) ? axes[name]! : null;
    out[name] = axis === null || t.dims[axis] === 1 || t.dims[axis] === undefined ? t : sliceAlong(t, axis, 0);
  }
  return out;
}
