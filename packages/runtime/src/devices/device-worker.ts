import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { EparaError, toEparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';
import type { BackendModelSource, BackendSession, BackendSessionOptions, InferenceBackend } from './backend.js';
import { loadBackend } from './load-backend.js';
import type { DeviceRequest, DeviceResponse, DeviceWorkerData, KvStepResult, LoadResult, RunResult } from './device-protocol.js';
import { KvCacheStore } from '../generation/kv-cache-store.js';
import { WorkerLinks } from '../parallel/worker-links.js';
import { prepareTransfer } from '../tensors/transfer.js';
import { matchesPlan, slabOutputViews, VIEW_CTOR, type SlabOutput } from './slab-outputs.js';
import { ANSWER_WAKES, BELL_IN, BELL_OUT, BellControl, DOORBELL_SLOTS, HOST_PARKED, RUNG_BY_MESSAGE, RUNG_IN_SLOT, WORKER_PARKED, WORKER_PARKS } from './doorbell.js';
import { bumpsPast, Sleeper, wake } from './bell-wake.js';
import { markStage, STAGE_ANSWERED, STAGE_RUN_END, STAGE_RUN_START, STAGE_WORKER_WOKE, useStageMarks } from '../observability/stage-marks.js';

/*
 * Entry point of a device worker thread (built to `dist/device-worker.js`). It owns the device's sessions and
 * serves one request at a time, in arrival order: inference blocks this thread, never the host's.
 */

const data = workerData as DeviceWorkerData;
if (data.stageMarks !== undefined) useStageMarks(data.stageMarks);
const sessions = new Map<string, BackendSession>();
/** KV caches resident in this worker: model key → store name → caches. Gone with the worker. */
const kvStores = new Map<string, Map<string, KvCacheStore>>();
/** Channels to other device workers (pipeline hand-offs). */
const links = new WorkerLinks();
let backendPromise: Promise<InferenceBackend> | undefined;
/** Sessions that failed to write into pre-allocated outputs: they hand theirs over by transfer from then on. */
const noSlabOutputs = new WeakSet<BackendSession>();
/** Sessions whose first slab outputs were checked against what the backend itself returned. */
const slabOutputsChecked = new WeakSet<BackendSession>();
/** Bytes the outputs of one request may take, per model key (see `LoadModelOptions.maxResponseBytes`). */
const responseLimits = new Map<string, number>();
/** How each model's session was made, to make it again (see {@link renewSession}). */
const made = new Map<string, { source: BackendModelSource; options: BackendSessionOptions; fileStamp: string | undefined }>();

function backend(): Promise<InferenceBackend> {
  backendPromise ??= loadBackend(data.backend);
  return backendPromise;
}

async function load(req: Extract<DeviceRequest, { op: 'load' }>): Promise<LoadResult> {
  const b = await backend();
  // Taken before the session reads the file: a reload after a restart must read the file the host loaded.
  const fileStamp = 'path' in req.source ? await stampOf(req.key, req.source.path, req.fileStamp) : undefined;
  const rssBefore = process.memoryUsage().rss;
  let session: BackendSession;
  let fallbackReason: string | undefined;
  const base = { threads: req.threads, spinWait: req.spinWait, ordinal: req.ordinal };
  try {
    session = await b.createSession(req.source, { ...base, executionProvider: req.provider });
  } catch (err) {
    if (req.provider !== 'cuda') throw new EparaError('LOAD_FAILED', `could not load model ${req.key}: ${message(err)}`, { key: req.key }, { cause: err });
    fallbackReason = message(err);
    try {
      session = await b.createSession(req.source, { ...base, executionProvider: 'cpu' });
    } catch (err2) {
      throw new EparaError('LOAD_FAILED', `could not load model ${req.key}: ${message(err2)}`, { key: req.key });
    }
  }
  const measured = Math.max(0, process.memoryUsage().rss - rssBefore);
  const sourceBytes = 'bytes' in req.source ? req.source.bytes.byteLength : await fileSize(req.source.path);
  await sessions.get(req.key)?.release();
  kvStores.delete(req.key); // caches of the replaced model are meaningless
  forgetRingPlans(req.key); // so are its batch layouts (the host plans the model's batches anew)
  sessions.set(req.key, session);
  made.set(req.key, { source: req.source, options: { ...base, executionProvider: fallbackReason === undefined ? req.provider : 'cpu' }, fileStamp });
  if (req.maxResponseBytes === undefined) responseLimits.delete(req.key);
  else responseLimits.set(req.key, req.maxResponseBytes);
  const info = {
    inputs: session.inputs,
    outputs: session.outputs,
    memoryBytes: session.memoryBytes ?? Math.max(measured, sourceBytes),
    executionProvider: fallbackReason === undefined ? req.provider : ('cpu' as const),
  };
  return { info, ...(fallbackReason === undefined ? {} : { fallbackReason }), ...(fileStamp === undefined ? {} : { fileStamp }) };
}

/** Runs a batch; `into`, when given, are the outputs' views of `req.slab` at `req.outputsAt` (a kept ring plan's). */
async function run(req: Extract<DeviceRequest, { op: 'run' }>, into?: NamedTensors): Promise<RunResult> {
  const session = sessions.get(req.key);
  if (!session) throw new EparaError('UNKNOWN_SERVICE', `no model loaded under ${req.key}`, { key: req.key });
  const outbound = req.outbound ?? [];
  links.checkOut(outbound);
  const feeds = req.inbound !== undefined && req.inbound.length > 0 ? { ...req.feeds, ...(await links.receive(req.inbound)) } : req.feeds;
  let slabFailed = false;
  if (req.slab !== undefined && req.outputsAt !== undefined && !noSlabOutputs.has(session)) {
    try {
      return await runIntoSlab(session, feeds, req.slab, req.outputsAt, into);
    } catch {
      slabFailed = true; // retried below without pre-allocated outputs
    }
  }
  markStage(STAGE_RUN_START);
  const start = performance.now();
  let outputs;
  try {
    outputs = await session.run(feeds, req.outputNames);
  } catch (err) {
    // Read only once the run failed (nothing is checked on the way in): feeds the model does not take are the
    // caller's error, not the model's.
    throw feedsError(req.key, session, feeds) ?? new EparaError('MODEL_ERROR', `model ${req.key} failed: ${message(err)}`, { key: req.key }, { cause: err });
  }
  const runMs = performance.now() - start;
  markStage(STAGE_RUN_END);
  // The model runs, but not into pre-allocated outputs (its declared output dims are not what it produces).
  if (slabFailed) noSlabOutputs.add(session);
  // Only runs of requests (their count is sent): the host's own runs at load (profile, batch check, warm-up) stack
  // up to the largest batch without saying how many items they hold.
  const limit = req.count === undefined ? undefined : responseLimits.get(req.key);
  if (limit !== undefined) {
    const refused = largeOutputs(req.key, outputs, limit, req.count!);
    if (refused !== undefined) {
      outputs = undefined; // the worker's copy goes with its next collection
      await renewSession(req.key, session);
      throw refused;
    }
  }
  if (outbound.length === 0) return { outputs, runMs };
  const keep = req.keep ?? [];
  const forwardedBytes = links.send(outputs, outbound, keep);
  return { outputs: Object.fromEntries(keep.map((name) => [name, outputs[name]!])), runMs, forwardedBytes };
}

/**
 * Runs with the outputs written straight into the lent slab at the places the host planned. The first such
 * run of a session is checked against what the backend returned itself; a backend that did not fill the
 * slab (or produced other dims) hands its outputs over by transfer instead, from then on.
 */
async function runIntoSlab(session: BackendSession, feeds: NamedTensors, slab: ArrayBuffer, outputsAt: readonly SlabOutput[], views?: NamedTensors): Promise<RunResult> {
  const into = views ?? slabOutputViews(slab, outputsAt);
  markStage(STAGE_RUN_START);
  const start = performance.now();
  const result = await session.run(feeds, undefined, into);
  const runMs = performance.now() - start;
  markStage(STAGE_RUN_END);
  if (!slabOutputsChecked.has(session)) {
    if (!matchesPlan(result, outputsAt) || !sameData(result, into)) {
      noSlabOutputs.add(session);
      return { outputs: result, runMs };
    }
    slabOutputsChecked.add(session);
  }
  return { outputs: {}, runMs, inSlab: true };
}

/**
 * Refuses outputs larger than `limit` bytes per request of the batch, before they are handed to the host (whose
 * copy, split and encoding of them would hold the device's caller for as long again): an output whose size an
 * input's value sets (`Range`, `Expand`, `Tile`, `ConstantOfShape`) can be of any size.
 * @throws EparaError `OUT_OF_MEMORY` with `details.reason: 'response-too-large'`.
 */
function largeOutputs(key: string, outputs: NamedTensors, limit: number, count: number): EparaError | undefined {
  let bytes = 0;
  let largest = '';
  let largestBytes = -1;
  for (const name of Object.keys(outputs)) {
    const n = tensorBytes(outputs[name]!);
    bytes += n;
    if (n > largestBytes) [largest, largestBytes] = [name, n];
  }
  const maxBytes = limit * Math.max(1, count);
  if (bytes <= maxBytes) return undefined;
  const perRequest = count > 1 ? ` for ${count} requests` : '';
  return new EparaError(
    'OUT_OF_MEMORY',
    `model ${key}: its outputs take ${bytes} bytes${perRequest} (${largest}: ${largestBytes}), above maxResponseBytes (${limit} per request): the response is refused`,
    { key, reason: 'response-too-large', outputBytes: bytes, maxResponseBytes: limit, requests: count, output: largest },
  );
}

/**
 * Makes a model's session again after it produced outputs it was refused: onnxruntime keeps the memory its arena
 * grew to for them (the size of the refused outputs) for as long as the session lives, and releasing the session
 * gives it back. A model read from a file that changed or went away since its load keeps its session (and that
 * memory) rather than serving another model; so does one the backend no longer loads.
 */
async function renewSession(key: string, session: BackendSession): Promise<void> {
  const how = made.get(key);
  if (how === undefined || sessions.get(key) !== session) return;
  try {
    if ('path' in how.source) await stampOf(key, how.source.path, how.fileStamp);
    const fresh = await (await backend()).createSession(how.source, how.options);
    if (sessions.get(key) !== session) return void (await fresh.release());
    // What the old session taught about pre-allocated outputs holds for the same model.
    if (noSlabOutputs.has(session)) noSlabOutputs.add(fresh);
    if (slabOutputsChecked.has(session)) slabOutputsChecked.add(fresh);
    sessions.set(key, fresh);
    await session.release();
  } catch {
    // kept as it was: it still serves
  }
}

/** Bytes a tensor's data takes (a string tensor: its characters). */
function tensorBytes(t: TensorLike): number {
  if (Array.isArray(t.data)) {
    let n = 0;
    for (const v of t.data as readonly unknown[]) n += typeof v === 'string' ? v.length : 8;
    return n;
  }
  return (t.data as TensorDataArray).byteLength;
}

/** Typed-array class of each element type (what onnxruntime-node takes for it). */
const ARRAY_CLASS: Readonly<Record<string, string>> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  float16: 'Uint16Array',
  int8: 'Int8Array',
  int16: 'Int16Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  uint8: 'Uint8Array',
  bool: 'Uint8Array',
  uint16: 'Uint16Array',
  uint32: 'Uint32Array',
  uint64: 'BigUint64Array',
  string: 'Array',
};

/**
 * Why the model cannot take `feeds` as given (`INVALID_INPUT`, naming the input, what it expects and what it got):
 * an input it does not have, one missing, another element type, data of another class than the type says, or as
 * many values as the dims do not hold. `undefined` when the feeds look right (the model itself failed).
 */
function feedsError(key: string, session: BackendSession, feeds: NamedTensors): EparaError | undefined {
  const bad = (input: string, msg: string, more: Record<string, unknown> = {}): EparaError => new EparaError('INVALID_INPUT', `model ${key}: ${msg}`, { key, input, ...more });
  const declared = new Map(session.inputs.map((io) => [io.name, io]));
  for (const name of Object.keys(feeds)) if (!declared.has(name)) return bad(name, `input '${name}' is not an input of the model (${[...declared.keys()].join(', ')})`);
  for (const io of session.inputs) {
    if (io.nonTensor !== undefined) continue;
    const t = feeds[io.name];
    if (t === undefined && io.hasDefault) continue;
    if (t === undefined) return bad(io.name, `input '${io.name}' is missing`);
    if (t.type !== io.type) return bad(io.name, `input '${io.name}' is ${io.type}, given ${String(t.type)}`, { expected: io.type, actual: t.type });
    const want = ARRAY_CLASS[io.type];
    const got = (t.data as { constructor?: { name?: string } } | undefined)?.constructor?.name;
    if (want !== undefined && got !== want && !(want === 'Uint8Array' && t.data instanceof Uint8Array)) {
      return bad(io.name, `input '${io.name}' is ${io.type} (${want}), given ${got ?? typeof t.data} data`, { expected: io.type, actual: got ?? typeof t.data });
    }
    if (Array.isArray(t.dims) && t.dims.every((d) => Number.isInteger(d) && d >= 0) && (t.data as ArrayLike<unknown>).length !== t.dims.reduce((a, b) => a * b, 1)) {
      return bad(io.name, `input '${io.name}' holds ${(t.data as ArrayLike<unknown>).length} values for dims [${t.dims.join(', ')}]`);
    }
    if (io.anyRank || !Array.isArray(t.dims)) continue;
    const shape = `[${io.dims.join(', ')}]`;
    if (t.dims.length !== io.dims.length) return bad(io.name, `input '${io.name}' has rank ${t.dims.length} (dims [${t.dims.join(', ')}]), the model takes ${shape}`, { expected: shape, actual: t.dims });
    for (let i = 0; i < io.dims.length; i++) {
      const d = io.dims[i];
      if (typeof d === 'number' && d >= 0 && t.dims[i] !== d) return bad(io.name, `input '${io.name}' dim ${i} is ${t.dims[i]}, the model takes ${shape}`, { expected: shape, actual: t.dims });
    }
  }
  return undefined;
}

function sameData(result: NamedTensors, into: NamedTensors): boolean {
  for (const name of Object.keys(into)) {
    const a = result[name]!.data;
    const b = into[name]!.data;
    if (a === b) continue;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

async function kvStep(req: Extract<DeviceRequest, { op: 'kvStep' }>): Promise<KvStepResult> {
  const session = sessions.get(req.key);
  if (!session) throw new EparaError('UNKNOWN_SERVICE', `no model loaded under ${req.key}`, { key: req.key });
  let stores = kvStores.get(req.key);
  if (stores === undefined) kvStores.set(req.key, (stores = new Map()));
  let store = stores.get(req.store);
  if (store === undefined) {
    store = new KvCacheStore(req.layout, async (feeds, outputNames) => {
      try {
        return await session.run(feeds, outputNames);
      } catch (err) {
        throw new EparaError('MODEL_ERROR', `model ${req.key} failed: ${message(err)}`, { key: req.key }, { cause: err });
      }
    });
    stores.set(req.store, store);
  }
  const start = performance.now();
  const tokens = await store.step(req.request);
  return { tokens, runMs: performance.now() - start };
}

function kvRelease(req: Extract<DeviceRequest, { op: 'kvRelease' }>): void {
  const stores = kvStores.get(req.key);
  const store = stores?.get(req.store);
  if (store === undefined) return;
  if (req.seqs !== undefined) store.release(req.seqs);
  if (req.seqs === undefined || store.size === 0) stores!.delete(req.store);
}

/** A call that came through the doorbell: its id, its slot, the plan of its layout. */
interface RungCall {
  readonly op: 'rung';
  readonly id: number;
  readonly slot: number;
  readonly plan: number;
}

/** A batch layout the host may ring in with: the model, the feeds as views of {@link ringBuffer}, the outputs' places. */
interface RingPlan {
  readonly key: string;
  readonly feeds: NamedTensors;
  readonly outputsAt: readonly SlabOutput[];
  /** The outputs' views of the private buffer (made once: none per rung call). */
  readonly into: NamedTensors;
  /** Bytes of the inputs (copied in), and where the outputs start and end (copied out). */
  readonly inputBytes: number;
  readonly outputsEnd: number;
}

const bell = data.doorbell === undefined ? undefined : new BellControl(data.doorbell);
/** The private copy a rung batch runs from (onnxruntime-node refuses tensors over shared memory). */
const ringBuffer = data.doorbell === undefined ? undefined : new ArrayBuffer(data.doorbell.slotBytes);
const ringPlans = new Map<number, RingPlan>();
/** Calls rung in so far (the host's count of them is {@link BELL_IN}). */
let rungIn = 0;
let rungOut = 0;
/** The worker's side of the wake protocol: parked when nothing is left to run, notified by the host only then. */
const sleeper = bell === undefined ? undefined : new Sleeper(bell.words, BELL_IN, WORKER_PARKED, WORKER_PARKS, onBell, undefined, data.doorbellSpinUs);

/** Keeps the layout of a batch that ran in its slab under `id`, as views of the ring's private buffer; false if it cannot. */
function keepRingPlan(id: number, req: Extract<DeviceRequest, { op: 'run' }>): boolean {
  if (ringBuffer === undefined || req.outputsAt === undefined || req.outputsAt.length === 0) return false;
  const feeds: Record<string, TensorLike> = {};
  let inputBytes = 0;
  for (const name of Object.keys(req.feeds)) {
    const t = req.feeds[name]!;
    if (Array.isArray(t.data) || (t.data as TensorDataArray).buffer !== req.slab) return false; // not laid out in the slab
    const d = t.data as TensorDataArray;
    inputBytes = Math.max(inputBytes, d.byteOffset + d.byteLength);
    feeds[name] = { type: t.type, dims: t.dims, data: new VIEW_CTOR[t.type as keyof typeof VIEW_CTOR](ringBuffer, d.byteOffset, d.length) } as TensorLike;
  }
  let outputsEnd = 0;
  for (const o of req.outputsAt) outputsEnd = Math.max(outputsEnd, o.offset + o.length * VIEW_CTOR[o.type].BYTES_PER_ELEMENT);
  if (outputsEnd > ringBuffer.byteLength) return false;
  ringPlans.set(id, { key: req.key, feeds, outputsAt: req.outputsAt, into: slabOutputViews(ringBuffer, req.outputsAt), inputBytes, outputsEnd });
  return true;
}

function forgetRingPlans(key: string): void {
  for (const [id, plan] of ringPlans) if (plan.key === key) ringPlans.delete(id);
}

/**
 * Runs a call rung in through the doorbell: its inputs copied from its slot into the private buffer, its outputs
 * written there by the backend and copied back into the slot. What cannot come back that way (an error, a backend
 * that does not write into given outputs) is answered by message.
 */
async function runRung(call: RungCall): Promise<void> {
  const plan = ringPlans.get(call.plan);
  if (plan === undefined) throw new EparaError('INTERNAL', `device worker: no batch layout ${call.plan} to run a rung call with`);
  const slot = data.doorbell!.slots[call.slot]!;
  new Uint8Array(ringBuffer!, 0, plan.inputBytes).set(new Uint8Array(slot, 0, plan.inputBytes));
  const result = await run({ op: 'run', id: call.id, key: plan.key, feeds: plan.feeds, slab: ringBuffer, outputsAt: plan.outputsAt }, plan.into);
  if (result.inSlab === true) {
    const from = plan.outputsAt[0]!.offset;
    new Uint8Array(slot, from, plan.outputsEnd - from).set(new Uint8Array(ringBuffer!, from, plan.outputsEnd - from));
    return finishRung(call.slot, RUNG_IN_SLOT, result.runMs);
  }
  // The backend returned its own outputs: they go back by message (copies where they view the private buffer).
  const { tensors, transfer } = prepareTransfer(unaliased(result.outputs, ringBuffer!));
  reply({ id: call.id, ok: true, result: { outputs: tensors, runMs: result.runMs }, rung: true }, transfer);
  finishRung(call.slot, RUNG_BY_MESSAGE, result.runMs);
}

function finishRung(slot: number, outcome: number, runMs: number): void {
  bell!.finish(slot, outcome, runMs);
  markStage(STAGE_ANSWERED);
  // The host is notified only if it waits (it reads every finished slot when it wakes, and looks again before it waits).
  if (wake(bell!.words, HOST_PARKED, BELL_OUT, ++rungOut)) bell!.words[ANSWER_WAKES]!++;
}

/** Messages received from the host so far (each rung call names how many the host had posted before it). */
let messagesIn = 0;
/** Whether the next rung call waits for a message the host posted before ringing it (set by {@link takeRung}). */
let ringWaits = false;

/**
 * Queues the calls rung in since the last look, in the order they were rung, up to the first one rung behind a
 * message that has not arrived yet: that one and those after it are taken once it has (the message's listener
 * looks again), so the host's order holds across both paths. Whether it queued any.
 */
function takeRung(): boolean {
  const rung = Atomics.load(bell!.words, BELL_IN);
  const before = queue.length;
  ringWaits = false;
  for (let n = bumpsPast(rungIn, rung); n > 0; n--, rungIn++) {
    const slot = rungIn % DOORBELL_SLOTS;
    if (bumpsPast(messagesIn, bell!.afterMessages(slot)) > 0) {
      ringWaits = true;
      break;
    }
    queue.push({ op: 'rung', id: bell!.callId(slot), slot, plan: bell!.planId(slot) });
  }
  return queue.length > before;
}

/**
 * Parks with nothing left to run; not while a rung call waits for a message (parking on a counter already past
 * what was taken would wake at once, again and again, and keep the message from arriving). The host notifies only
 * a parked worker, and the message's arrival takes the call.
 */
function parkUnlessWaiting(poll: boolean): void {
  if (!ringWaits) sleeper!.park(rungIn, poll);
}

/** Called once the host rang while the worker was parked: queues what it rang in, and serves or parks again. */
function onBell(): void {
  markStage(STAGE_WORKER_WOKE);
  takeRung();
  if (busy) return; // serve reads the ring before each call and parks when done
  if (queue.length > 0) void serve();
  else parkUnlessWaiting(false);
}

/** Where the host reads which call this worker started last (see {@link DeviceWorkerData.progress}). */
const progress = data.progress === undefined ? undefined : new Int32Array(data.progress);

async function handle(req: DeviceRequest | RungCall): Promise<void> {
  if (progress !== undefined) Atomics.store(progress, 0, req.id);
  try {
    if (req.op === 'load') reply({ id: req.id, ok: true, result: await load(req) });
    else if (req.op === 'run') {
      const result = await run(req);
      if (result.inSlab === true) {
        if (req.ringPlan !== undefined && keepRingPlan(req.ringPlan, req)) return reply({ id: req.id, ok: 'slab', runMs: result.runMs, slab: req.slab!, kept: true }, [req.slab!]);
        return reply({ id: req.id, ok: 'slab', runMs: result.runMs, slab: req.slab! }, [req.slab!]);
      }
      const { tensors, transfer } = prepareTransfer(req.slab === undefined ? result.outputs : unaliased(result.outputs, req.slab));
      const body: RunResult = result.forwardedBytes === undefined ? { outputs: tensors, runMs: result.runMs } : { outputs: tensors, runMs: result.runMs, forwardedBytes: result.forwardedBytes };
      // The lent slab goes back with the answer (the outputs are the backend's own buffers, copied by `unaliased`
      // if they view the slab).
      if (req.slab !== undefined && !transfer.includes(req.slab)) transfer.push(req.slab);
      reply(req.slab === undefined ? { id: req.id, ok: true, result: body } : { id: req.id, ok: true, result: body, slab: req.slab }, transfer);
    } else if (req.op === 'rung') await runRung(req);
    else if (req.op === 'kvStep') reply({ id: req.id, ok: true, result: await kvStep(req) });
    else if (req.op === 'link' || req.op === 'unlink') {
      if (req.op === 'link') links.attach(req.link, req.end, req.port);
      else links.detach(req.link);
      reply({ id: req.id, ok: true, result: null });
    } else if (req.op === 'kvRelease') {
      kvRelease(req);
      reply({ id: req.id, ok: true, result: null });
    } else if (req.op === 'shutdown') {
      kvStores.clear();
      for (const session of sessions.values()) await session.release();
      sessions.clear();
      reply({ id: req.id, ok: true, result: null });
    } else {
      kvStores.delete(req.key);
      forgetRingPlans(req.key);
      responseLimits.delete(req.key);
      made.delete(req.key);
      await sessions.get(req.key)?.release();
      sessions.delete(req.key);
      reply({ id: req.id, ok: true, result: null });
    }
  } catch (err) {
    const e = toEparaError(err, 'MODEL_ERROR');
    const error = { code: e.code, message: e.message, details: { ...e.details } };
    if (req.op === 'rung') {
      // Answered by message; its slot is finished so that the host can ring into it again.
      reply({ id: req.id, ok: false, error, rung: true });
      return finishRung(req.slot, RUNG_BY_MESSAGE, 0);
    }
    const slab = req.op === 'run' ? req.slab : undefined;
    if (slab === undefined || slab.byteLength === 0) reply({ id: req.id, ok: false, error });
    else reply({ id: req.id, ok: false, error, slab }, [slab]);
  }
}

/** Outputs that view the lent slab (a backend passing an input through) are copied: the slab goes back to the pool. */
function unaliased(outputs: NamedTensors, slab: ArrayBuffer): NamedTensors {
  let out: Record<string, TensorLike> | undefined;
  for (const name of Object.keys(outputs)) {
    const t = outputs[name]!;
    if (Array.isArray(t.data) || (t.data as TensorDataArray).buffer !== slab) continue;
    out ??= { ...outputs };
    out[name] = { type: t.type, dims: t.dims, data: t.data.slice() as TensorLike['data'] };
  }
  return out ?? outputs;
}

function reply(msg: DeviceResponse, transfer: ArrayBuffer[] = []): void {
  markStage(STAGE_ANSWERED);
  parentPort!.postMessage(msg, transfer);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The identity of a model file (device, inode, size, modification and change times: a file rewritten in place or
 * replaced by another has a new change time or inode). With `expected` (a reload after a restart), a file whose
 * identity changed since the first load, or that is gone, is refused: the new worker would otherwise serve a model
 * other than the one the host loaded, profiled and checked, under the same key.
 * @throws EparaError `LOAD_FAILED` with `details.reason` `'model-file-changed'` or `'model-file-missing'`.
 */
async function stampOf(key: string, path: string, expected: string | undefined): Promise<string | undefined> {
  const { stat } = await import('node:fs/promises');
  let s;
  try {
    s = await stat(path, { bigint: true });
  } catch (err) {
    if (expected === undefined) return undefined; // the backend reports a missing file with its own reason
    throw new EparaError('LOAD_FAILED', `could not load model ${key} again: its file ${path} is gone (${message(err)})`, { key, path, reason: 'model-file-missing' });
  }
  const stamp = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  if (expected !== undefined && stamp !== expected) {
    throw new EparaError('LOAD_FAILED', `could not load model ${key} again: its file ${path} changed since it was loaded (load the new file as a new instance)`, { key, path, reason: 'model-file-changed' });
  }
  return stamp;
}

async function fileSize(path: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  return (await stat(path)).size;
}

// One request at a time, in arrival order; an idle worker starts a request at once (no promise chain per message).
const queue: (DeviceRequest | RungCall)[] = [];
let busy = false;

async function serve(): Promise<void> {
  busy = true;
  if (bell === undefined) {
    for (let req = queue.shift(); req !== undefined; req = queue.shift()) await handle(req);
    busy = false;
    return;
  }
  // Awake while running: the host rings without a notify, and the ring is read before each call.
  sleeper!.awake();
  let rung = false;
  for (;;) {
    // A call rung in while this thread was still awake is heard here, with no wake-up (the host notifies only a
    // parked worker): its `workerWoke` is when it was read.
    if (takeRung()) markStage(STAGE_WORKER_WOKE);
    const req = queue.shift();
    if (req === undefined) break;
    rung = req.op === 'rung';
    await handle(req);
  }
  busy = false;
  // Polls the ring (doorbellSpinUs) only after a rung call: after one by message the next mostly comes by message too
  // (a batch the ring does not carry), and the poll would hold it back, unread, for as long.
  parkUnlessWaiting(rung);
}

parentPort!.on('message', (req: DeviceRequest) => {
  markStage(STAGE_WORKER_WOKE);
  // Calls rung in before this message was posted go first, those rung behind it right after it: the host rings and
  // posts in its own order.
  if (bell !== undefined) takeRung();
  // A closing device has already rejected every call it sent (`CLOSED`): only the run in progress is waited for,
  // not the work queued behind it, so the sessions are released one run after the close, not a backlog later.
  if (req.op === 'shutdown') queue.length = 0;
  queue.push(req);
  messagesIn = (messagesIn + 1) | 0;
  if (bell !== undefined) takeRung();
  if (!busy) void serve();
});
sleeper?.park(rungIn, false);
