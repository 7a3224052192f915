import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { EventEmitter } from 'eventemitter3';
import { EparaError, eparaErrorFromJSON, toEparaError, type NamedTensors } from '@epara/core';
import { signalError } from '@epara/core/internal';
import type { DeviceEvents, DeviceHandle, DirectRunOptions, ListeningDevice, LoadedModelInfo, LoadModelOptions, ModelSource, RestartWarmRun, RunBatchOptions, RunListener, SlabHome, StagedBatch, TimedRun } from './device-port.js';
import type { ResolvedDeviceOptions } from './device-options.js';
import type { DeviceRequest, DeviceResponse, DeviceWorkerData, KvStepResult, LoadResult, RunResult } from './device-protocol.js';
import type { KvLayout, KvStepRequest, ResidentKvDevice } from '../generation/kv-cache-store.js';
import type { LinkedRun, LinkedRunOptions, StageLinkDevice } from '../parallel/stage-links.js';
import { defaultWorkerUrl } from './worker-url.js';
import { prepareTransfer } from '../tensors/transfer.js';
import { stackTensors, type BatchAxes } from '../tensors/stack.js';
import { InputSlabPool, type InputSlabStats } from './input-slabs.js';
import { slabViews, stackIntoSlab, writeIntoSlab } from './slab-stack.js';
import { allocateDoorbell, doorbellAvailable, HostRing, RUNG_IN_SLOT } from './doorbell.js';
import { markStage, STAGE_HOST_WOKE, STAGE_SENT, stageMarksMemory } from '../observability/stage-marks.js';
import { splitSlabOutputs, type KnownOutput, type SlabOutput } from './slab-outputs.js';
import { PendingCalls, SlabCalls, type CallListener, type PendingCall } from './pending-calls.js';
import { SlabPlans, type SlabPlan } from './slab-plans.js';

/** How a call is sent: what it transfers, its signal, and the slab lent with it. */
interface SendOptions {
  readonly transfer: TransferListItem[];
  readonly signal?: AbortSignal | undefined;
  readonly slab?: ArrayBuffer | undefined;
  /** Where `slab` goes back to: the device's pool unless set. */
  readonly home?: SlabHome | undefined;
  /** A run: its success resets the count of consecutive crashes. */
  readonly isRun?: boolean;
  /** The batch's outputs are to be written into the slab at these places (read out when it comes back). */
  readonly slabOutputs?: readonly SlabOutput[] | undefined;
  readonly known?: readonly KnownOutput[] | undefined;
  readonly count?: number;
  /** Hears the outcome instead of a promise (the batch path: no promise or reaction job per batch). */
  readonly listener?: CallListener | undefined;
  /** The batch's layout id, for the worker to keep once the batch ran in its slab (see {@link HostRing}). */
  readonly ringPlan?: number;
  /** The batch's requests as given, to run it again if its worker is terminated before starting it (see {@link PendingCall.items}). */
  readonly items?: readonly NamedTensors[] | undefined;
  readonly axes?: BatchAxes | undefined;
  readonly runOptions?: RunBatchOptions | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type RequestBody = DeviceRequest extends infer R ? (R extends DeviceRequest ? Omit<R, 'id'> : never) : never;

/**
 * A {@link DeviceHandle} backed by one worker thread, restarted when it crashes. It also keeps generation
 * engines' KV caches inside the worker ({@link ResidentKvDevice}) and links its worker to other devices'
 * workers for pipeline hand-offs ({@link StageLinkDevice}); a crash loses both.
 */
export class WorkerDevice extends EventEmitter<DeviceEvents> implements DeviceHandle, ListeningDevice, ResidentKvDevice, StageLinkDevice {
  readonly id: string;
  readonly provider: 'cpu' | 'cuda';
  readonly threads: number;
  readonly memoryBytes: number;
  readonly #o: ResolvedDeviceOptions;
  readonly #pending = new PendingCalls();
  readonly #models = new Map<string, { source: ModelSource; threads: number; fileStamp: string | undefined; maxResponseBytes: number | undefined }>();
  /**
   * Models a restarted worker could not load again (their file changed or went away, the backend refused them):
   * every call for one fails with its `LOAD_FAILED` instead of a worker's "no model" until it is loaded again.
   */
  readonly #lost = new Map<string, EparaError>();
  /** How each model is warmed again after a restart (see {@link warmAfterRestart}). */
  readonly #warm = new Map<string, (run: RestartWarmRun) => Promise<number>>();
  readonly #slabs: InputSlabPool;
  readonly #plans = new SlabPlans();
  /** Ids of calls whose input slab is in the worker now, and where each slab goes back to. */
  readonly #slabCalls = new SlabCalls<SlabHome>();
  /** The run message and its send options, refilled per batch (see {@link #sendBatch}). */
  readonly #runBody: Mutable<Extract<RequestBody, { op: 'run' }>> = { op: 'run', key: '', feeds: {}, slab: undefined, outputNames: undefined, outputsAt: undefined, ringPlan: undefined, count: 1 };
  readonly #runSend: Mutable<SendOptions> = { transfer: [], signal: undefined, slab: undefined, home: undefined, isRun: true, slabOutputs: undefined, known: undefined, count: 0, listener: undefined, ringPlan: 0, items: undefined, axes: undefined, runOptions: undefined };
  /** The device's slab pool as a {@link SlabHome}. */
  readonly #poolHome: SlabHome = {
    returned: (slab) => this.#slabs.release(slab),
    lost: () => this.#slabs.lost(1),
  };
  #worker: Worker | undefined;
  /** The id of the call the current worker started last (see {@link DeviceWorkerData.progress}). */
  #progress: Int32Array | undefined;
  /** The current worker's doorbell (none when turned off or unavailable). */
  #ring: HostRing | undefined;
  /**
   * Messages posted to the current worker: each rung call carries the count, and the worker runs it after that many
   * messages (it takes what was rung in before each message it receives, and holds a call rung behind a message
   * until the message arrives), so that both paths keep the host's order.
   */
  #posted = 0;
  /** The id of the last call posted to the current worker (a rung call's answer is heard after that call's). */
  #lastPosted = 0;
  /** A finished rung call waits, unread, for the answer of a message sent before it (see {@link #onRing}). */
  #ringHeld = false;
  #ready: Promise<void> = Promise.resolve();
  #restarting = false;
  #nextId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;
  #failed: EparaError | undefined;
  #restarts = 0;
  #consecutiveCrashes = 0;

  constructor(options: ResolvedDeviceOptions) {
    super();
    this.#o = options;
    this.id = options.id;
    this.provider = options.provider;
    this.threads = options.threads;
    this.memoryBytes = options.memoryBytes;
    this.#slabs = new InputSlabPool({ slabBytes: options.inputSlabBytes, maxSlabs: options.inputSlabs });
  }

  async loadModel(key: string, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModelInfo> {
    const threads = options.threads ?? this.threads;
    const { maxResponseBytes } = options;
    this.#plans.forget(key);
    this.#warm.delete(key);
    const limit = maxResponseBytes === undefined ? {} : { maxResponseBytes };
    const result = (await this.#call({ op: 'load', key, source, threads, spinWait: this.#o.spinWait, provider: this.provider, ordinal: this.#o.ordinal, ...limit }, { transfer: [], signal: options.signal })) as LoadResult;
    this.#models.set(key, { source, threads, fileStamp: result.fileStamp, maxResponseBytes });
    this.#lost.delete(key);
    if (result.fallbackReason !== undefined) this.#fellBack(key, result.fallbackReason);
    return result.info;
  }

  async run(key: string, feeds: NamedTensors, options: DirectRunOptions = {}): Promise<NamedTensors> {
    return (await this.runTimed(key, feeds, options)).outputs;
  }

  runTimed(key: string, feeds: NamedTensors, options: DirectRunOptions = {}): Promise<TimedRun> {
    try {
      const { tensors, transfer } = prepareTransfer(feeds);
      const count = options.requests === undefined ? {} : { count: options.requests };
      const body = options.outputNames ? { op: 'run' as const, key, feeds: tensors, outputNames: options.outputNames, ...count } : { op: 'run' as const, key, feeds: tensors, ...count };
      return this.#call(body, { transfer, signal: options.signal, isRun: true }) as Promise<RunResult>;
    } catch (err) {
      return Promise.reject(err); // a promise either way, never a throw
    }
  }

  /**
   * Stacks `items` straight into an input slab lent to the worker (one copy of each request's data, no
   * allocation, the callers' arrays untouched); a batch larger than a slab, or one arriving while every slab is
   * lent, is stacked into a fresh buffer and transferred instead. With `knownOutputs`, and room left in the
   * slab, the backend writes the outputs behind the inputs and each request's outputs are copied out before
   * the slab returns to the pool (`items`). A batch with a `string` tensor (elements of no fixed size) takes
   * the copy path: its tensors are concatenated ({@link stackTensors}) and sent by message, never laid in a slab.
   */
  runBatch(key: string, items: readonly NamedTensors[], axes: BatchAxes, options: RunBatchOptions = {}): Promise<TimedRun> {
    return this.#batch(key, items, axes, options, undefined)!;
  }

  /** {@link runBatch} whose outcome goes to `listener` (synchronously when it fails before it is sent). */
  runBatchTo(key: string, items: readonly NamedTensors[], axes: BatchAxes, options: RunBatchOptions, listener: RunListener): void {
    void this.#batch(key, items, axes, options, listener);
  }

  #batch(key: string, items: readonly NamedTensors[], axes: BatchAxes, options: RunBatchOptions, listener: RunListener | undefined): Promise<TimedRun> | undefined {
    let slab: ArrayBuffer | undefined;
    try {
      if (holdsStrings(items[0])) return this.#timed(key, stackTensors(items, axes), options, listener, items, axes);
      const plan = this.#plans.plan(key, items, axes, options.knownOutputs);
      const { layout, outputs: planned } = plan;
      const withOutputs = planned !== undefined && planned.end <= this.#slabs.slabBytes;
      // A batch that fits a doorbell slot rings in once the worker keeps its layout; until then it goes by
      // message, asking the worker to keep it.
      let ringPlan = 0;
      const ring = this.#ring;
      if (withOutputs && ring !== undefined && planned.end <= ring.slotBytes && options.signal === undefined && !this.#restarting) {
        const id = ring.planId(plan) ?? 0;
        if (id > 0 && ring.keeps(id)) {
          if (ring.hasRoom()) return this.#ringBatch(ring, id, plan, key, items, axes, options, listener);
        } else ringPlan = id;
      }
      slab = this.#slabs.acquire(withOutputs ? planned.end : layout.bytes);
      if (slab === undefined) return this.#timed(key, stackTensors(items, axes), options, listener, items, axes);
      return this.#sendBatch(key, slab, stackIntoSlab(slab, items, layout), withOutputs ? planned : undefined, items.length, options, this.#poolHome, listener, ringPlan, items, axes);
    } catch (err) {
      // Planning or stacking refused the batch before anything was sent: the slab goes back to the pool.
      if (slab !== undefined) this.#slabs.release(slab);
      return failed(err, listener);
    }
  }

  /**
   * Rings a batch in through the doorbell: its inputs written into the next slot (views kept per slot and layout),
   * the call recorded as any other, the worker notified. The answer is read from the slot ({@link #onRing}).
   */
  #ringBatch(ring: HostRing, planId: number, plan: SlabPlan, key: string, items: readonly NamedTensors[], axes: BatchAxes, options: RunBatchOptions, listener: RunListener | undefined): Promise<TimedRun> | undefined {
    if (this.#closed || this.#failed) return failed(this.#failed ?? new EparaError('CLOSED', `device ${this.id} is closed`, { deviceId: this.id }), listener);
    writeIntoSlab(ring.nextViews(plan.layout, slabViews), items, plan.layout);
    const id = this.#nextId++;
    const { call, promise } = this.#pending.open(id, listener as CallListener | undefined);
    call.isRun = true;
    call.slabOutputs = plan.outputs!.outputs;
    call.known = options.knownOutputs;
    call.count = items.length;
    call.key = key;
    call.items = items;
    call.axes = axes;
    call.runOptions = options;
    call.after = this.#lastPosted;
    markStage(STAGE_SENT);
    ring.ring(id, planId, this.#posted);
    this.#slabs.countRungRun();
    return promise as Promise<TimedRun> | undefined;
  }

  /**
   * Reads the calls the worker finished in the doorbell's slots, and settles them, in the worker's order: a call
   * rung behind a message ran after it, and the message's answer was posted first, but the two reach this thread
   * by different ways; until that answer is heard the slot stays unread (and the ring unwatched: the answer's
   * message reads it). The other way round, each message's answer first reads the calls finished in the ring.
   */
  #onRing(ring: HostRing): void {
    if (ring !== this.#ring) return; // a crashed worker's ring: its calls were failed with the crash
    const control = ring.control;
    for (let slot = ring.peekFinished(); slot >= 0; slot = ring.peekFinished()) {
      if (control.outcome(slot) === RUNG_IN_SLOT) {
        const after = this.#pending.peek(control.callId(slot))?.after ?? 0;
        if (after !== 0 && this.#pending.has(after)) {
          this.#ringHeld = true;
          return;
        }
      }
      ring.nextFinished();
      if (control.outcome(slot) !== RUNG_IN_SLOT) continue; // answered by message (#onMessage)
      const p = this.#pending.take(control.callId(slot));
      if (p === undefined) continue; // aborted meanwhile
      let result: TimedRun | undefined;
      let failure: EparaError | undefined;
      try {
        result = this.#slabAnswer(p, control.runMs(slot), splitSlabOutputs(ring.memory.slots[slot]!, p.slabOutputs!, p.known!, p.count, ring.outputViews(slot, p.slabOutputs!)));
        this.#consecutiveCrashes = 0;
      } catch (err) {
        failure = toEparaError(err, 'MODEL_ERROR');
      }
      p.settle(failure, result);
      this.#answer.items = undefined; // holds no batch's outputs
      this.#pending.recycle(p);
    }
    ring.listen();
  }

  /** {@link runTimed} for the batch path, its outcome to `listener` when given. */
  #timed(key: string, feeds: NamedTensors, options: RunBatchOptions, listener: RunListener | undefined, items: readonly NamedTensors[], axes: BatchAxes): Promise<TimedRun> | undefined {
    const { tensors, transfer } = prepareTransfer(feeds);
    const count = items.length;
    const body = options.outputNames ? { op: 'run' as const, key, feeds: tensors, outputNames: options.outputNames, count } : { op: 'run' as const, key, feeds: tensors, count };
    return this.#request(body, { transfer, signal: options.signal, isRun: true, listener: listener as CallListener | undefined, items, axes, runOptions: options }) as Promise<TimedRun> | undefined;
  }

  /**
   * Runs a batch the caller laid out in its own buffer (a lease slab): the buffer is lent to the worker as a
   * slab of the device's would be, and handed back to `staged.home` with the answer.
   */
  runStaged(key: string, staged: StagedBatch, options: RunBatchOptions = {}): Promise<TimedRun> {
    return this.#sendBatch(key, staged.slab, staged.feeds, staged.outputs, staged.count, options, staged.home, undefined)!;
  }

  /** {@link runStaged} whose outcome goes to `listener`. */
  runStagedTo(key: string, staged: StagedBatch, options: RunBatchOptions, listener: RunListener): void {
    void this.#sendBatch(key, staged.slab, staged.feeds, staged.outputs, staged.count, options, staged.home, listener);
  }

  #sendBatch(
    key: string,
    slab: ArrayBuffer,
    feeds: NamedTensors,
    planned: SlabPlan['outputs'],
    count: number,
    options: RunBatchOptions,
    home: SlabHome,
    listener: RunListener | undefined,
    ringPlan = 0,
    items?: readonly NamedTensors[],
    axes?: BatchAxes,
  ): Promise<TimedRun> | undefined {
    // While no restart defers the send, the message is posted (cloned) at once: one body, options object and
    // transfer list per device serve every batch, emptied after the send so that they hold no batch's memory.
    const reuse = !this.#restarting;
    const body: Mutable<Extract<RequestBody, { op: 'run' }>> = reuse ? this.#runBody : { op: 'run', key, feeds, slab };
    body.key = key;
    body.count = count;
    body.feeds = feeds;
    body.slab = slab;
    body.outputNames = options.outputNames;
    body.outputsAt = planned?.outputs; // the answer is read out of the slab when it comes back (#onMessage)
    body.ringPlan = ringPlan > 0 ? ringPlan : undefined;
    const send: Mutable<SendOptions> = reuse ? this.#runSend : { transfer: [slab] };
    (send.transfer as TransferListItem[])[0] = slab;
    send.signal = options.signal;
    send.slab = slab;
    send.home = home;
    send.isRun = true;
    send.slabOutputs = planned?.outputs;
    send.known = planned === undefined ? undefined : options.knownOutputs;
    send.count = count;
    send.listener = listener as CallListener | undefined;
    send.ringPlan = ringPlan;
    send.items = items;
    send.axes = axes;
    send.runOptions = items === undefined ? undefined : options;
    try {
      return this.#request(body, send) as Promise<TimedRun> | undefined;
    } finally {
      if (reuse) {
        body.feeds = body.slab = body.outputNames = body.outputsAt = body.ringPlan = undefined as never;
        (send.transfer as TransferListItem[])[0] = EMPTY_SLAB;
        send.signal = send.slab = send.home = send.slabOutputs = send.known = send.listener = send.items = send.axes = send.runOptions = undefined;
      }
    }
  }

  /** What the input slab pool has done so far. */
  inputSlabs(): InputSlabStats {
    const stats = this.#slabs.stats();
    return this.#ring === undefined ? stats : { ...stats, ...this.#ring.wakes() };
  }

  async kvStep(key: string, store: string, layout: KvLayout, request: KvStepRequest): Promise<number[]> {
    const result = (await this.#call({ op: 'kvStep', key, store, layout, request }, NO_TRANSFER)) as KvStepResult;
    this.#consecutiveCrashes = 0;
    return result.tokens;
  }

  async kvRelease(key: string, store: string, seqs?: readonly number[]): Promise<void> {
    if (this.#closed || this.#failed) return;
    await this.#call(seqs === undefined ? { op: 'kvRelease', key, store } : { op: 'kvRelease', key, store, seqs }, NO_TRANSFER).catch(() => undefined);
  }

  async linkTo(peer: unknown, link: string): Promise<boolean> {
    if (!(peer instanceof WorkerDevice)) return false;
    const { port1, port2 } = new MessageChannel();
    await Promise.all([this.#call({ op: 'link', link, end: 'out', port: port1 }, { transfer: [port1] }), peer.#call({ op: 'link', link, end: 'in', port: port2 }, { transfer: [port2] })]);
    return true;
  }

  async unlink(link: string): Promise<void> {
    if (this.#closed || this.#failed) return;
    await this.#call({ op: 'unlink', link }, NO_TRANSFER).catch(() => undefined);
  }

  async runLinked(key: string, feeds: NamedTensors, options: LinkedRunOptions): Promise<LinkedRun> {
    const { tensors, transfer } = prepareTransfer(feeds);
    const { outputNames, keep, inbound, outbound, requests } = options;
    const count = requests === undefined ? {} : { count: requests };
    const result = (await this.#call({ op: 'run', key, feeds: tensors, outputNames, keep, inbound, outbound, ...count }, { transfer })) as RunResult;
    this.#consecutiveCrashes = 0;
    return { outputs: result.outputs, runMs: result.runMs, forwardedBytes: result.forwardedBytes ?? 0 };
  }

  warmAfterRestart(key: string, warm: (run: RestartWarmRun) => Promise<number>): void {
    if (this.#models.has(key)) this.#warm.set(key, warm);
  }

  get failure(): EparaError | undefined {
    return this.#failed;
  }

  async unloadModel(key: string, options: { waitMs?: number } = {}): Promise<void> {
    this.#models.delete(key);
    this.#lost.delete(key);
    this.#warm.delete(key);
    this.#plans.forget(key);
    if (this.#closed || this.#failed) return;
    if (this.#worker === undefined) return; // never started, or gone: nothing is loaded there
    const restarting = this.#restarting;
    const worker = this.#worker;
    const answered = this.#call({ op: 'unload', key }, NO_TRANSFER);
    // A restart's reloads and warm-ups answer in their own time (each bounded by its own call); otherwise the
    // worker answers the unload once the calls sent before it are done, and one that never does is stuck in a run.
    if (restarting) return void (await answered);
    const waitMs = options.waitMs ?? this.#o.closeWaitMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      answered.then(
        () => false,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), waitMs))),
    ]);
    clearTimeout(timer);
    if (!late) return void (await answered);
    if (worker === this.#worker) this.recycle(`a run did not end within ${waitMs} ms while model ${key} was unloaded`);
    await answered.catch(() => undefined); // failed with the worker's calls in flight
  }

  /**
   * Terminates the worker — stuck in a call that never ends — and starts a new one with the device's models, as
   * after a crash (the call it is stuck in fails `WORKER_CRASHED`, `workerCrashed` and `workerRestarted` follow), but
   * not counted toward `maxRestarts`; the calls sent behind the stuck one never started, and the batches among them
   * run again on the new worker ({@link #neverStarted}). Nothing happens on a device without a worker, closed or
   * failed.
   */
  recycle(reason: string): void {
    const worker = this.#worker;
    if (worker === undefined || this.#closed || this.#failed) return;
    this.#o.logger.warn({ deviceId: this.id, reason }, 'terminating a device worker that does not answer');
    this.#onCrash(worker, `terminated: ${reason}`, false);
  }

  /**
   * Refuses new calls (`CLOSED`) and asks the worker to finish the run in progress — whose caller gets its answer —
   * and release its sessions; once it has (or after `closeWaitMs`, a run that does not end), every call still
   * pending fails with `CLOSED` and the worker is terminated. Idempotent: a second call waits for the first.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker) await shutDown(worker, this.#o.closeWaitMs);
    this.#worker = undefined;
    this.#rejectAll(new EparaError('CLOSED', `device ${this.id} is closed`, { deviceId: this.id }));
    this.#writeOffSlabs();
    this.#slabs.clear();
    this.#dropRing();
    if (worker) await worker.terminate();
  }

  /** Sends a call; its answer settles the returned promise. */
  #call(body: RequestBody, o: SendOptions): Promise<unknown> {
    return this.#request(body, o)!;
  }

  /** Sends a call; its answer settles the returned promise, or goes to `o.listener` (then nothing is returned). */
  #request(body: RequestBody, o: SendOptions): Promise<unknown> | undefined {
    const bad = signalError(o.signal) ?? (o.signal?.aborted ? aborted(o.signal) : undefined);
    if (bad) return this.#unsent(bad, o);
    // Wait for a restart's reloads only while one is under way: no extra await per call otherwise.
    if (this.#restarting) {
      const sent = this.#ready.then(() => this.#send(body, o));
      if (o.listener === undefined) return sent;
      const l = o.listener;
      sent.catch((err: unknown) => l.onFail(toEparaError(err)));
      return undefined;
    }
    return this.#send(body, o);
  }

  /** Fails a call that never reached the worker, returning its slab to its home. */
  #unsent(err: EparaError, o: SendOptions): Promise<never> | undefined {
    if (o.slab !== undefined) (o.home ?? this.#poolHome).returned(o.slab);
    return failed(err, o.listener);
  }

  #send(body: RequestBody, o: SendOptions): Promise<unknown> | undefined {
    const { signal, slab } = o;
    if (this.#closed) return this.#unsent(new EparaError('CLOSED', `device ${this.id} is closed`, { deviceId: this.id }), o);
    if (this.#failed) return this.#unsent(this.#failed, o);
    if (signal?.aborted) return this.#unsent(aborted(signal), o);
    if (this.#lost.size > 0 && body.op !== 'load' && body.op !== 'unload' && 'key' in body) {
      const lost = this.#lost.get(body.key);
      if (lost !== undefined) return this.#unsent(lost, o);
    }
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    const { call, promise } = this.#pending.open(id, o.listener);
    call.isRun = o.isRun === true;
    call.slabOutputs = o.slabOutputs;
    call.known = o.known;
    call.count = o.count ?? 0;
    call.ringPlan = o.ringPlan ?? 0;
    if (o.items !== undefined) {
      call.key = (body as { key: string }).key;
      call.items = o.items;
      call.axes = o.axes;
      call.runOptions = o.runOptions;
    }
    if (signal) {
      call.signal = signal;
      call.onAbort = () => {
        // Still in flight (the record is this call's until its answer or abort takes it).
        if (this.#pending.take(id) === call) call.settle(aborted(signal), undefined);
      };
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    try {
      (body as { id?: number }).id = id; // the body is this call's own object: no copy per message
      markStage(STAGE_SENT);
      worker.postMessage(body, o.transfer);
      this.#lastPosted = id;
    } catch (err) {
      // Not sent (a value that cannot be cloned): the slab is still ours unless the failed send detached it.
      this.#pending.take(id);
      if (slab !== undefined) {
        const home = o.home ?? this.#poolHome;
        if (slab.byteLength > 0) home.returned(slab);
        else home.lost();
      }
      call.settle(toEparaError(err, 'INVALID_INPUT'), undefined);
      return promise;
    }
    if (slab !== undefined) this.#slabCalls.set(id, o.home ?? this.#poolHome);
    this.#posted++;
    return promise;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    let data: DeviceWorkerData = { deviceId: this.id, backend: this.#o.backend };
    if (this.#o.doorbellSlotBytes > 0 && doorbellAvailable()) {
      const doorbell = allocateDoorbell(this.#o.doorbellSlotBytes);
      const ring: HostRing = new HostRing(doorbell, () => {
        markStage(STAGE_HOST_WOKE);
        this.#onRing(ring);
      });
      this.#ring = ring;
      data = this.#o.doorbellSpinUs > 0 ? { ...data, doorbell, doorbellSpinUs: this.#o.doorbellSpinUs } : { ...data, doorbell };
    }
    if (typeof SharedArrayBuffer === 'function') {
      this.#progress = new Int32Array(new SharedArrayBuffer(4));
      data = { ...data, progress: this.#progress.buffer as SharedArrayBuffer };
    }
    const marks = stageMarksMemory();
    if (marks !== undefined) data = { ...data, stageMarks: marks };
    const worker = new Worker(this.#o.workerUrl ?? defaultWorkerUrl(), { workerData: data, stdout: false, stderr: false });
    this.#posted = 0; // the new worker has received none
    this.#lastPosted = 0;
    worker.on('message', (msg: DeviceResponse) => {
      markStage(STAGE_HOST_WOKE);
      // Calls the worker finished in the ring before it posted this answer are heard first (its order).
      if (this.#ring !== undefined && !this.#ringHeld) this.#onRing(this.#ring);
      this.#onMessage(msg);
      // A rung call held for this answer is read now (in the worker's order).
      if (this.#ringHeld && this.#ring !== undefined) {
        this.#ringHeld = false;
        this.#onRing(this.#ring);
      }
    });
    worker.on('error', (err) => this.#onCrash(worker, `uncaught error in worker: ${err.message}`));
    worker.on('exit', (code) => this.#onCrash(worker, `worker exited with code ${code}`));
    this.#worker = worker;
    return worker;
  }

  /**
   * The answer handed to a listener (the batch path), refilled per answer: the listener reads it at once. A call
   * with a promise gets an answer of its own.
   */
  readonly #answer: Mutable<TimedRun> = { outputs: NO_OUTPUTS, runMs: 0, items: undefined };

  /** A run answered in its slab or doorbell slot: `items` per request, to `p`'s listener through {@link #answer}. */
  #slabAnswer(p: PendingCall, runMs: number, items: TimedRun['items']): TimedRun {
    if (p.listener === undefined) return { outputs: NO_OUTPUTS, runMs, items };
    const a = this.#answer;
    a.runMs = runMs;
    a.items = items;
    return a;
  }

  #onMessage(msg: DeviceResponse): void {
    const p = this.#pending.take(msg.id);
    // The worker keeps the layout of a batch that ran in its slab: later batches of it may ring in.
    if (p !== undefined && p.ringPlan > 0 && msg.ok === 'slab' && msg.kept === true) this.#ring?.kept(p.ringPlan);
    let result: unknown = msg.ok === true ? msg.result : undefined;
    let failure: EparaError | undefined = msg.ok === false ? eparaErrorFromJSON(msg.error) : undefined;
    // The slab comes back whether or not the caller still waits (an aborted call's slab returns too). Results
    // written into it are copied out first: once released, the next batch overwrites it.
    const home = msg.slab === undefined ? undefined : this.#slabCalls.take(msg.id);
    if (home !== undefined) {
      if (p?.slabOutputs !== undefined && failure === undefined) {
        try {
          result = this.#fromSlab(p, msg, msg.slab!, home === this.#poolHome);
        } catch (err) {
          failure = toEparaError(err, 'MODEL_ERROR');
        }
      }
      home.returned(msg.slab!);
    }
    if (!p) return; // the caller aborted; the result is discarded
    if (failure === undefined && p.isRun) this.#consecutiveCrashes = 0;
    p.settle(failure, result);
    this.#answer.items = undefined; // holds no batch's outputs
    this.#pending.recycle(p);
  }

  /** Each request's outputs, read out of the returned slab (unless the worker declined to write them there). */
  #fromSlab(p: PendingCall, msg: DeviceResponse, slab: ArrayBuffer, pooled: boolean): unknown {
    if (msg.ok !== 'slab') return msg.ok ? msg.result : undefined; // a backend that cannot write into given outputs
    if (pooled) this.#slabs.countOutputRun();
    return this.#slabAnswer(p, msg.runMs, splitSlabOutputs(slab, p.slabOutputs!, p.known!, p.count));
  }

  /**
   * The worker is gone (or is being terminated: `counted` false, a stuck run an unload gave up on, which is no
   * crash of the model's): its calls fail, and a new worker takes the models, unless it crashed too often.
   */
  #onCrash(worker: Worker, reason: string, counted = true): void {
    if (worker !== this.#worker || this.#closed) return;
    this.#worker = undefined;
    void worker.terminate();
    this.#dropRing();
    this.#writeOffSlabs();
    const crashed = new EparaError('WORKER_CRASHED', `device ${this.id}: ${reason}`, { deviceId: this.id, reason });
    // A worker terminated in a run that never ends (not a crash) started the calls up to that run, and none after.
    const again = counted ? [] : this.#neverStarted(crashed);
    const failedCalls = this.#pending.size;
    this.#rejectAll(crashed);
    this.#o.logger.error({ deviceId: this.id, reason, failedCalls, runAgain: again.length }, 'device worker crashed');
    this.emit('workerCrashed', { deviceId: this.id, reason, failedCalls });
    if (counted) this.#consecutiveCrashes++;
    if (this.#consecutiveCrashes > this.#o.maxRestarts) {
      const crashes = this.#consecutiveCrashes;
      const failure = new EparaError('WORKER_CRASHED', `device ${this.id} failed: its worker crashed ${crashes} times in a row`, { deviceId: this.id, reason: 'device-failed', crashes });
      this.#failed = failure;
      this.#o.logger.error({ deviceId: this.id, crashes }, 'device gave up restarting its worker');
      this.emit('deviceFailed', { deviceId: this.id, crashes, reason, error: failure });
      return;
    }
    this.#restarting = true;
    const ready = this.#restart();
    this.#ready = ready;
    // Cleared only on success: after a failed restart every call keeps waiting on (and failing with) it.
    ready.then(
      () => {
        if (this.#ready === ready) this.#restarting = false;
      },
      () => undefined,
    );
    // Sent again, in their order, behind the restart's reloads and warm-ups.
    for (const p of again) this.#runAgain(p);
  }

  /**
   * Takes out the calls the terminated worker never started (sent behind the call it was stuck in): a batch whose
   * requests' data is still whole and whose model is still loaded is returned, to run again on the new worker —
   * inference has no effects, and it never ran; any other fails, saying that it never ran: `NO_INSTANCE` when its
   * model was unloaded meanwhile (an instance unloaded with its batch sent ahead), else `WORKER_CRASHED`.
   */
  #neverStarted(crashed: EparaError): PendingCall[] {
    const progress = this.#progress;
    if (progress === undefined) return [];
    const started = Atomics.load(progress, 0);
    if (started === 0) return []; // a worker that says nothing of what it started (every worker loads first)
    const again: PendingCall[] = [];
    for (const p of this.#pending.takeAll()) {
      // Ids are sequential and the worker starts calls in the order they were sent (ids wrap at 2^32 in the word).
      if ((((p.id | 0) - started) | 0) <= 0) {
        this.#pending.restore(p);
        continue;
      }
      if (p.items !== undefined && this.#models.has(p.key) && intact(p.items)) {
        again.push(p);
        continue;
      }
      const ran = { deviceId: this.id, reason: crashed.details['reason'], ran: false };
      p.settle(
        p.items !== undefined && !this.#models.has(p.key)
          ? new EparaError('NO_INSTANCE', `device ${this.id}: model ${p.key} was unloaded while this batch waited behind a run that never ended; it never ran`, { ...ran, key: p.key })
          : new EparaError('WORKER_CRASHED', `device ${this.id}: ${String(crashed.details['reason'])}; this call was queued behind the stuck run and never ran`, ran),
        undefined,
      );
    }
    return again.sort((a, b) => a.id - b.id);
  }

  /** Sends a batch again that its terminated worker never started (its caller hears the new run's outcome). */
  #runAgain(p: PendingCall): void {
    const { key, items, axes, runOptions, listener, resolve, reject } = p;
    p.forget();
    this.#pending.recycle(p);
    if (listener !== undefined) return void this.#batch(key, items!, axes!, runOptions!, listener);
    void this.#batch(key, items!, axes!, runOptions!, undefined)!.then(resolve, reject);
  }

  async #restart(): Promise<void> {
    this.#restarts++;
    const worker = this.#ensureWorker();
    const models = [...this.#models];
    const loads = models.map(([key, m]) =>
      this.#post(worker, {
        op: 'load',
        key,
        source: m.source,
        threads: m.threads,
        spinWait: this.#o.spinWait,
        provider: this.provider,
        ordinal: this.#o.ordinal,
        ...(m.fileStamp === undefined ? {} : { fileStamp: m.fileStamp }),
        ...(m.maxResponseBytes === undefined ? {} : { maxResponseBytes: m.maxResponseBytes }),
      }),
    );
    const results = await Promise.allSettled(loads);
    if (worker !== this.#worker) return; // crashed again while reloading; that crash restarts
    let reloaded = 0;
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        reloaded++;
        continue;
      }
      const key = models[i]![0];
      const cause = toEparaError(r.reason, 'LOAD_FAILED');
      this.#models.delete(key);
      this.#warm.delete(key);
      this.#plans.forget(key);
      const reason = typeof cause.details['reason'] === 'string' ? cause.details['reason'] : 'reload-failed';
      this.#lost.set(key, new EparaError('LOAD_FAILED', `device ${this.id}: model ${key} could not be loaded again after its worker restarted: ${cause.message}`, { deviceId: this.id, key, reason }));
      this.#o.logger.error({ deviceId: this.id, key, reason: cause.message }, 'device worker restarted without a model');
    }
    // The new sessions meet every batch size cold: warm the sizes warmed at load before any call is sent (calls made
    // meanwhile wait for the restart, this included).
    let warmed = 0;
    for (const [key, warm] of [...this.#warm]) {
      if (!this.#models.has(key)) continue;
      warmed += await warm((feeds, options) => this.#post(worker, { op: 'run', key, feeds, ...(options.outputNames === undefined ? {} : { outputNames: options.outputNames }) }));
      if (worker !== this.#worker) return; // crashed while warming; that crash restarts
    }
    this.#o.logger.warn({ deviceId: this.id, restarts: this.#restarts, reloaded, warmedSizes: warmed }, 'device worker restarted');
    this.emit('workerRestarted', { deviceId: this.id, restarts: this.#restarts, reloadedModels: reloaded, warmedSizes: warmed });
  }

  #post(worker: Worker, body: RequestBody): Promise<unknown> {
    const id = this.#nextId++;
    const { promise } = this.#pending.open(id);
    worker.postMessage({ ...body, id } as DeviceRequest);
    this.#lastPosted = id;
    this.#posted++;
    return promise;
  }

  #fellBack(modelKey: string, reason: string): void {
    this.#o.logger.warn({ deviceId: this.id, modelKey, reason }, 'CUDA execution provider unavailable; running on CPU');
    this.emit('deviceFellBack', { deviceId: this.id, modelKey, requested: 'cuda', used: 'cpu', reason });
  }

  /** The worker is gone: its doorbell with it (its rung calls fail with the rest), and nothing is owed by message. */
  #dropRing(): void {
    const ring = this.#ring;
    this.#ring = undefined;
    this.#ringHeld = false;
    ring?.drop();
  }

  /** Slabs lent to a worker that is gone died with it: the pool replaces them when next needed. */
  #writeOffSlabs(): void {
    for (const home of this.#slabCalls.takeAll()) home.lost();
  }

  #rejectAll(err: EparaError): void {
    for (const p of this.#pending.takeAll()) p.settle(err, undefined);
  }
}

const NO_TRANSFER: SendOptions = { transfer: [] };
/** What the reused transfer list holds between batches. */
const EMPTY_SLAB = new ArrayBuffer(0);
/** The `outputs` of a run answered in its slab (each request's are in `items`). */
const NO_OUTPUTS: NamedTensors = Object.freeze({});

function aborted(signal: AbortSignal): EparaError {
  return new EparaError('ABORTED', 'the call was aborted', { reason: String(signal.reason) });
}

/** Request id of the shutdown message (ids of calls are positive). */
const SHUTDOWN_ID = -1;

/**
 * Asks the worker to release its sessions once the run in progress ends (it drops the work queued behind it), and
 * waits for that (or its exit, or `waitMs`): terminating a thread while onnxruntime runs inside it can abort the
 * whole process.
 */
function shutDown(worker: Worker, waitMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', done);
      worker.off('error', done);
      resolve();
    };
    const onMessage = (msg: DeviceResponse): void => {
      if (msg.id === SHUTDOWN_ID) done();
    };
    const timer = setTimeout(done, waitMs);
    worker.on('message', onMessage);
    worker.once('exit', done);
    worker.once('error', done);
    try {
      worker.postMessage({ op: 'shutdown', id: SHUTDOWN_ID } satisfies DeviceRequest);
    } catch {
      done();
    }
  });
}

/**
 * Whether every tensor of a batch's requests still holds its data: a lone request sent on the copy path gave its
 * buffers to the worker (transferred), and cannot be sent again.
 */
function intact(items: readonly NamedTensors[]): boolean {
  for (const item of items) {
    for (const name in item) {
      const t = item[name]!;
      if (Array.isArray(t.data) || t.data.length > 0) continue;
      let n = 1;
      for (const d of t.dims) n *= d;
      if (n > 0) return false;
    }
  }
  return true;
}

/** Whether a request has a `string` tensor (callers group only items of the same inputs). */
function holdsStrings(item: NamedTensors | undefined): boolean {
  for (const name in item) if (item[name]!.type === 'string') return true;
  return false;
}

/**
 * A call that failed before it was sent: a rejected promise, or the listener told at once (an error that is not
 * an `EparaError` yet becomes a `MODEL_ERROR`, as the batch runner would make it).
 */
function failed(err: unknown, listener: Pick<CallListener, 'onFail'> | undefined): Promise<never> | undefined {
  if (listener === undefined) return Promise.reject(err);
  listener.onFail(toEparaError(err, 'MODEL_ERROR'));
  return undefined;
}
