import { EventEmitter } from 'eventemitter3';
import { EparaError, toEparaError } from '@epara/core';
import { createLatencyTracker, type LatencyTracker } from '../parallel/model-parallel-latency.js';
import { resolveGenerationOptions, type GenerationEngineOptions, type ResolvedGenerationOptions } from './generation-options.js';
import type { GenerationEvents, GenerationStats, LeaveReason } from './generation-events.js';
import { estimateGeneration, type GenerationEstimate } from './generation-estimate.js';
import { createStepRunner, type StepRunner } from './step-runner.js';
import { createTokenChannel } from './token-channel.js';
import { validateRequest, type GenerationRequest, type Sequence } from './generation-request.js';
import { shedError } from '../executor/shed-error.js';
import { directWorkQueue, type DeviceWorkQueue } from '../executor/device-work.js';
import { nextStepDeadline, stepDeadline } from './step-deadline.js';
import { fadeStale } from '../executor/hold-corrections.js';

/** The streamed tokens of one request. Iterating ends after the last token or throws an `EparaError`. */
export interface GenerationStream extends AsyncIterable<number> {
  readonly id: number;
  /** Iterates to the end and returns every generated token. */
  collect(): Promise<number[]>;
}

/** A language-model generation engine with iteration-level batching. */
export interface GenerationEngine extends EventEmitter<GenerationEvents> {
  /** Starts generating; tokens stream as they are decoded. Never throws: errors surface through the stream. */
  generate(request: GenerationRequest): GenerationStream;
  /** Loads the model (and calibrates the step estimate). Idempotent. @throws EparaError `LOAD_FAILED` */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** When a request of this size, submitted at `now`, would get its first token and finish. */
  estimate(request: { promptTokens: number; maxNewTokens: number }, now?: number): GenerationEstimate;
  stats(): GenerationStats;
  /** Rejects waiting requests, ends active ones after the running step (`CLOSED`), frees the model. Idempotent. */
  close(): Promise<void>;
}

let engines = 0;

/**
 * Creates a generation engine: greedy (arg-max, deterministic) decoding of a causal LM on one device with
 * iteration-level batching. Sequences of different lengths share each decode step (left padding plus an
 * attention mask); a finished sequence leaves and a waiting one joins between steps. Admission checks the
 * request's time-to-first-token and time-per-token SLOs against a step-latency estimate and refuses what
 * cannot fit (`DEADLINE_INFEASIBLE`, `OVERLOADED`); a waiting request whose first token can no longer come in
 * time is dropped with `DEADLINE_EXCEEDED`. Every stream ends or errors.
 *
 * Each step (prefill or decode call) is one unit of device work: with `workQueue` (the device's scheduler,
 * which an executor passes) it is launched in earliest-deadline order with the other services' batches on the
 * same device, by a deadline derived from its members' deadlines (`stepDeadline`), and it counts in
 * the device's timeline and busy time. The step-latency estimate learns the device's compute time of each
 * step, never the time it waited behind other work.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the bad field.
 * @example
 * ```ts
 * const engine = createGenerationEngine({ device, model: { bytes: buildTinyCausalLm(opts) }, maxBatch: 8, maxSeq: 64 });
 * for await (const token of engine.generate({ tokens: [1, 2, 3], maxNewTokens: 10 })) console.log(token);
 * ```
 */
export function createGenerationEngine(options: GenerationEngineOptions): GenerationEngine {
  return new Engine(resolveGenerationOptions(options));
}

class Engine extends EventEmitter<GenerationEvents> implements GenerationEngine {
  readonly #o: ResolvedGenerationOptions;
  readonly #key: string;
  readonly #tracker: LatencyTracker;
  readonly #waiting: Sequence[] = [];
  readonly #active: Sequence[] = [];
  readonly #queue: DeviceWorkQueue;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #loopEnded: (() => void) | undefined;
  /** True from the moment a loop is scheduled until it finds nothing to run (cleared in the same tick). */
  #looping = false;
  /** Mean time a step takes on the device beyond its compute (messaging, host thread), ms, as last learned. */
  #overheadMs = 0;
  /** When a step last refreshed the overhead, clock ms. */
  #overheadAt = 0;
  #runner: StepRunner | undefined;
  /** Sequences that joined since the last iteration (a KV-cache runner prefills them). */
  #fresh: Sequence[] = [];
  #vocab: number | undefined;
  #nextId = 1;
  #c = { steps: 0, tokensGenerated: 0, completed: 0, rejected: 0, aborted: 0, failed: 0, maxBatchSeen: 0 };

  constructor(o: ResolvedGenerationOptions) {
    super();
    this.#o = o;
    this.#key = o.key ?? `generation-${++engines}`;
    this.#tracker = createLatencyTracker(o.stepProfile ? { fixed: o.stepProfile } : { kind: 'decode-step' });
    this.#queue = o.workQueue ?? directWorkQueue(o.clock);
  }

  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closing) return Promise.reject(new EparaError('CLOSED', 'generation engine is closed'));
    this.#started ??= this.#load(options.signal);
    return this.#started;
  }

  async #load(signal: AbortSignal | undefined): Promise<void> {
    const o = this.#o;
    try {
      const info = await o.device.loadModel(this.#key, o.model, { ...(o.threads ? { threads: o.threads } : {}), ...(signal ? { signal } : {}) });
      const vocab = info.outputs.find((v) => v.name === 'logits')?.dims.at(-1);
      this.#vocab = typeof vocab === 'number' ? vocab : undefined;
      this.#runner = createStepRunner({ device: o.device, key: this.#key, padToken: o.padToken, info });
      if (o.calibrate && !o.stepProfile) {
        for (const { work, feeds } of this.#runner.calibrationCalls(o.maxBatch, o.maxSeq)) {
          const { runMs } = await o.device.runTimed(this.#key, feeds, { outputNames: ['logits'] });
          this.#tracker.observe(work, runMs);
        }
      }
    } catch (err) {
      throw toEparaError(err, 'LOAD_FAILED');
    }
  }

  generate(request: GenerationRequest): GenerationStream {
    const id = this.#nextId++;
    const channel = createTokenChannel();
    const stream: GenerationStream = {
      id,
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator](),
      async collect() {
        const out: number[] = [];
        for await (const t of channel) out.push(t);
        return out;
      },
    };
    const now = this.#o.clock.now();
    const checked = validateRequest(request, { id, now, channel, maxSeq: this.#o.maxSeq, ttftMs: this.#o.ttftMs, tpotMs: this.#o.tpotMs });
    if (checked instanceof EparaError) return this.#refuse(id, channel, checked, stream);
    if (this.#closing) return this.#refuse(id, channel, new EparaError('CLOSED', 'generation engine is closed'), stream);
    const seq = checked;
    const onAbort = (): void => this.#abort(seq);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    seq.cleanup = () => request.signal?.removeEventListener('abort', onAbort);
    channel.onCancel(onAbort);
    if (request.signal?.aborted) onAbort();
    else this.start().then(
      () => this.#enqueue(seq),
      (err: unknown) => this.#reject(seq, toEparaError(err, 'LOAD_FAILED')),
    );
    return stream;
  }

  #refuse(id: number, channel: ReturnType<typeof createTokenChannel>, error: EparaError, stream: GenerationStream): GenerationStream {
    this.#c.rejected++;
    this.emit('requestRejected', { id, code: error.code, at: this.#o.clock.now() });
    channel.fail(error);
    return stream;
  }

  #enqueue(seq: Sequence): void {
    if (seq.state !== 'pending') return;
    if (this.#closing) return this.#reject(seq, new EparaError('CLOSED', 'generation engine is closed'));
    if (this.#vocab !== undefined && seq.tokens.some((t) => t >= this.#vocab!)) {
      return this.#reject(seq, new EparaError('INVALID_INPUT', `token ids must be < vocab (${this.#vocab})`, { vocab: this.#vocab }));
    }
    const refusal = this.#admission(seq);
    if (refusal) return this.#reject(seq, refusal);
    seq.state = 'waiting';
    const at = this.#waiting.findIndex((w) => w.ttftDeadline > seq.ttftDeadline);
    if (at < 0) this.#waiting.push(seq);
    else this.#waiting.splice(at, 0, seq);
    if (this.#looping) return;
    // Started on the next microtask so that requests submitted together join the same first step.
    this.#looping = true;
    this.#loop = new Promise((resolve) => (this.#loopEnded = resolve));
    void Promise.resolve().then(() => this.#next());
  }

  /**
   * The learned overhead at `now`: kept as is for a second after the last step that refreshed it, then fading
   * toward 0 with a half-life of 2 s, as the hold-time corrections fade (`fadeStale`). Only steps teach it,
   * and turns run only when the estimate admits them: an overhead inflated by a stall (a cold start on a starved
   * host) priced every turn past its deadline, so no turn ran and nothing replaced it — in a quiet demo run
   * every chat turn of three trials was refused on estimates of 1.1 and 2.1 s, near constant (p50 and p90 within
   * 3%), where the other runs served chat in 126–224 ms (p50).
   */
  #overhead(now: number): number {
    return fadeStale(this.#overheadMs, 0, this.#overheadAt, now);
  }

  #stepMs(tokens: number): number | undefined {
    return this.#tracker.estimate(tokens);
  }

  #admission(seq: Sequence): EparaError | undefined {
    const freeSlots = Math.max(0, this.#o.maxBatch - this.#active.length);
    if (this.#waiting.length - freeSlots >= this.#o.maxWaiting) {
      return shedError('OVERLOADED', 'too many generation requests are waiting', { maxWaiting: this.#o.maxWaiting });
    }
    if (this.#stepMs(1) === undefined) return undefined; // nothing measured yet: admit optimistically
    const alone = this.#stepMs(this.#runner!.stepWork(1, seq.tokens.length + seq.maxNewTokens))!;
    if (alone > seq.tpotMs) return new EparaError('DEADLINE_INFEASIBLE', 'a decode step takes longer than the time-per-token SLO even alone', { stepMs: alone, tpotMs: seq.tpotMs });
    // Optimistic, as a batch service's admission: refused is only what cannot fit even if the batches sharing
    // the device left every step its turn at once (EDF gives urgent steps the device before later batches).
    const est = this.#estimate({ promptTokens: seq.tokens.length, maxNewTokens: seq.maxNewTokens }, this.#o.clock.now(), false);
    if (est.firstTokenAt > seq.ttftDeadline) return new EparaError('DEADLINE_INFEASIBLE', 'the first token cannot come before the TTFT deadline', { estimate: est.firstTokenAt, ttftDeadline: seq.ttftDeadline });
    if (est.completionAt > seq.deadline) return new EparaError('DEADLINE_INFEASIBLE', 'the generation cannot finish before its deadline', { estimate: est.completionAt, deadline: seq.deadline });
    return undefined;
  }

  estimate(request: { promptTokens: number; maxNewTokens: number }, now = this.#o.clock.now()): GenerationEstimate {
    return this.#estimate(request, now, true);
  }

  /**
   * The estimate; `expected` prices every step as it is expected to come: with its hand-offs (the mean
   * overhead learned from steps), and, on a device shared with batch services, plus the wait for the batch in
   * progress when the step is queued (`residualMs`). Under the scheduler's earliest-deadline order a step, due
   * an even share of its turn's slack away, goes before the batches queued behind it, but never interrupts a
   * running one. Without, steps are priced at compute time back to back (the optimistic figure).
   */
  #estimate(request: { promptTokens: number; maxNewTokens: number }, now: number, expected: boolean): GenerationEstimate {
    // The device's own timeline holds the running step and whatever other services' batches it holds.
    const freeAt = this.#queue.freeAt(now);
    const overheadMs = expected ? this.#overhead(now) + Math.max(0, this.#queue.residualMs?.(now) ?? 0) : 0;
    return estimateGeneration(
      {
        now: freeAt,
        maxBatch: this.#o.maxBatch,
        active: this.#active.map((s) => ({ length: s.tokens.length, remainingSteps: s.maxNewTokens - s.generated })),
        waitingAhead: this.#waiting.length,
        stepMs: (work) => (this.#stepMs(work) ?? 0) + overheadMs,
        ...(this.#runner ? { stepWork: this.#runner.stepWork } : {}),
        ...(this.#runner?.kind === 'kv' ? { prefillWork: this.#runner.prefillWork } : {}),
      },
      request.promptTokens,
      request.maxNewTokens,
    );
  }

  /**
   * One turn of the loop: settle a closing engine's sequences, let waiting ones join, and queue the next step
   * on the device (or end the loop). Runs right after the previous step, before its device work settles, so
   * that the scheduler sees the next step when it chooses what runs next.
   */
  #next(): void {
    try {
      if (this.#closing) for (const s of [...this.#active]) this.#leave(s, 'closed', new EparaError('CLOSED', 'generation engine closed'));
      this.#expire();
      this.#join();
      if (this.#active.length === 0) return this.#endLoop();
      const members = [...this.#active];
      const joined = this.#fresh.filter((s) => s.state === 'active');
      this.#fresh = [];
      const computeMs = this.#stepMs(this.#runner!.workOf(members, joined)) ?? 0;
      const queuedAt = this.#o.clock.now();
      // The device's timeline prices the step at what it holds the device (compute and hand-offs), as a batch's.
      const stepMs = computeMs + this.#overhead(queuedAt);
      const deadline = stepDeadline(members, { now: queuedAt, stepMs });
      const followUpDeadline = nextStepDeadline(members, joined, { now: queuedAt + stepMs, stepMs }, this.#runner!.kind);
      this.#queue.enqueueWork({
        ownerId: this.#key,
        deadline,
        expectedMs: stepMs,
        ...(followUpDeadline === undefined ? {} : { followUpDeadline }),
        run: async (plannedStart) => {
          try {
            await this.#step(members, joined, { queuedAt, plannedStart, deadline });
          } catch (err) {
            return this.#fatal(err);
          }
          this.#next();
        },
        fail: (error) => {
          for (const s of members) if (s.state === 'active') this.#leave(s, 'error', error);
          this.#next();
        },
      });
    } catch (err) {
      this.#fatal(err);
    }
  }

  /**
   * Active sequences that can no longer finish by their deadline, even at the measured compute time of their
   * remaining steps, leave with `DEADLINE_EXCEEDED`: a late answer is worth nothing, and under EDF a step whose
   * deadline has passed would go ahead of every other service's work on the device.
   */
  #expire(): void {
    const now = this.#o.clock.now();
    for (const s of [...this.#active]) {
      if (!Number.isFinite(s.deadline)) continue;
      const remaining = s.maxNewTokens - s.generated;
      const stepMs = this.#stepMs(this.#runner!.stepWork(1, s.tokens.length)) ?? 0;
      if (now + remaining * stepMs <= s.deadline) continue;
      this.#leave(s, 'deadline', shedError('DEADLINE_EXCEEDED', 'the generation can no longer finish before its deadline', { deadline: s.deadline, at: now, remainingTokens: remaining }));
    }
  }

  #endLoop(): void {
    this.#looping = false;
    this.#loopEnded?.();
  }

  /** A bug, not a model error (those fail their step): settle everything rather than hang. */
  #fatal(err: unknown): void {
    const error = toEparaError(err, 'INTERNAL');
    this.#o.logger.error({ err: error.message }, 'generation loop failed');
    for (const s of [...this.#active]) this.#leave(s, 'error', error);
    for (const s of this.#waiting.splice(0)) this.#reject(s, error);
    this.#endLoop();
  }

  /** Between steps: waiting sequences join while slots are free and the step stays within every member's TPOT. */
  #join(): void {
    const now = this.#o.clock.now();
    for (const seq of [...this.#waiting]) {
      const batch = this.#active.length + 1;
      const len = Math.max(seq.tokens.length, ...this.#active.map((s) => s.tokens.length + 1));
      const stepMs = this.#stepMs(this.#runner!.stepWork(batch, len)) ?? 0;
      if (now + stepMs > seq.ttftDeadline) {
        this.#waiting.splice(this.#waiting.indexOf(seq), 1);
        this.#reject(seq, shedError('DEADLINE_EXCEEDED', 'dropped: the first token can no longer come before the TTFT deadline', { ttftDeadline: seq.ttftDeadline, at: now }));
        continue;
      }
      if (batch > this.#o.maxBatch) continue;
      const tightest = Math.min(seq.tpotMs, ...this.#active.map((s) => s.tpotMs));
      if (this.#active.length > 0 && stepMs > tightest) continue;
      this.#waiting.splice(this.#waiting.indexOf(seq), 1);
      seq.state = 'active';
      this.#active.push(seq);
      this.#fresh.push(seq);
      this.emit('sequenceJoined', { id: seq.id, step: this.#c.steps + 1, promptTokens: seq.promptTokens, at: now });
    }
  }

  async #step(members: readonly Sequence[], joined: readonly Sequence[], at: { queuedAt: number; plannedStart: number; deadline: number }): Promise<void> {
    const o = this.#o;
    // Sent behind a running batch, the step starts when that one ends, not now.
    const launchedAt = o.clock.now();
    const startedAt = Math.max(launchedAt, at.plannedStart);
    const step = ++this.#c.steps;
    this.#c.maxBatchSeen = Math.max(this.#c.maxBatchSeen, members.length);
    let result;
    try {
      result = await this.#runner!.run(members, joined);
    } catch (err) {
      const error = toEparaError(err, 'MODEL_ERROR');
      o.logger.warn({ step, batch: members.length, code: error.code, err: error.message }, 'generation step failed');
      for (const s of members) if (s.state === 'active') this.#leave(s, 'error', error);
      return;
    }
    const endedAt = o.clock.now();
    const spanMs = Math.max(0, endedAt - startedAt);
    const computeMs = result.computeMs ?? spanMs;
    this.#tracker.observe(result.work, computeMs);
    // What a step costs beyond compute (messaging, the host's turn), learned from steps that found the device
    // idle: behind a batch, the span also holds that batch's overrun.
    if (at.plannedStart <= launchedAt) {
      const was = this.#overhead(endedAt);
      this.#overheadMs = was + 0.2 * (Math.max(0, spanMs - computeMs) - was);
      this.#overheadAt = endedAt;
    }
    const advanced = members.filter((s) => result.tokens.has(s));
    for (const s of advanced) {
      if (s.state !== 'active') continue; // aborted while the step ran: its token is discarded
      const token = result.tokens.get(s)!;
      s.tokens.push(token);
      s.generated++;
      this.#c.tokensGenerated++;
      s.channel.push(token);
      if (token === o.eosToken) this.#leave(s, 'eos');
      else if (s.generated >= s.maxNewTokens) this.#leave(s, 'length');
    }
    this.emit('stepCompleted', { step, batch: advanced.length, seqLen: result.seqLen, ids: advanced.map((s) => s.id), queuedAt: at.queuedAt, startedAt, endedAt, computeMs, deadline: at.deadline });
  }

  #leave(seq: Sequence, reason: LeaveReason, error?: EparaError): void {
    const i = this.#active.indexOf(seq);
    if (i >= 0) this.#active.splice(i, 1);
    this.#runner?.release(seq);
    seq.state = 'done';
    seq.cleanup();
    if (error) seq.channel.fail(error);
    else seq.channel.end();
    if (reason === 'eos' || reason === 'length') this.#c.completed++;
    else if (reason === 'aborted') this.#c.aborted++;
    else this.#c.failed++;
    this.emit('sequenceLeft', { id: seq.id, step: this.#c.steps, reason, generated: seq.generated, at: this.#o.clock.now() });
  }

  #reject(seq: Sequence, error: EparaError): void {
    seq.state = 'done';
    seq.cleanup();
    if (error.code === 'ABORTED') this.#c.aborted++;
    else this.#c.rejected++;
    this.emit('requestRejected', { id: seq.id, code: error.code, at: this.#o.clock.now() });
    seq.channel.fail(error);
  }

  #abort(seq: Sequence): void {
    const error = new EparaError('ABORTED', 'the caller aborted the generation', { id: seq.id });
    if (seq.state === 'active') return this.#leave(seq, 'aborted', error);
    if (seq.state === 'waiting') this.#waiting.splice(this.#waiting.indexOf(seq), 1);
    if (seq.state !== 'done') this.#reject(seq, error);
  }

  stats(): GenerationStats {
    return { active: this.#active.length, waiting: this.#waiting.length, ...this.#c };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const seq of this.#waiting.splice(0)) this.#reject(seq, new EparaError('CLOSED', 'generation engine closed before the request joined'));
    await this.#loop;
    await this.#started?.catch(() => undefined);
    await this.#o.device.unloadModel(this.#key).catch(() => undefined);
  }
}
