import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { EparaError, toEparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';
import type { BackendSession, InferenceBackend } from './backend.js';
import { loadBackend } from './load-backend.js';
import type { DeviceRequest, DeviceResponse, DeviceWorkerData, KvStepResult, LoadResult, RunResult } from './device-protocol.js';
import { KvCacheStore } from '../generation/kv-cache-store.js';
import { WorkerLinks } from '../parallel/worker-links.js';
import { prepareTransfer } from '../tensors/transfer.js';
import { matchesPlan, slabOutputViews, type SlabOutput } from './slab-outputs.js';

/*
 * Entry point of a device worker thread (built to `dist/device-worker.js`). It owns the device's sessions and
 * serves one request at a time, in arrival order: inference blocks this thread, never the host's.
 */

const data = workerData as DeviceWorkerData;
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

function backend(): Promise<InferenceBackend> {
  backendPromise ??= loadBackend(data.backend);
  return backendPromise;
}

async function load(req: Extract<DeviceRequest, { op: 'load' }>): Promise<LoadResult> {
  const b = await backend();
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
  sessions.set(req.key, session);
  const info = {
    inputs: session.inputs,
    outputs: session.outputs,
    memoryBytes: session.memoryBytes ?? Math.max(measured, sourceBytes),
    executionProvider: fallbackReason === undefined ? req.provider : ('cpu' as const),
  };
  return fallbackReason === undefined ? { info } : { info, fallbackReason };
}

async function run(req: Extract<DeviceRequest, { op: 'run' }>): Promise<RunResult> {
  const session = sessions.get(req.key);
  if (!session) throw new EparaError('UNKNOWN_SERVICE', `no model loaded under ${req.key}`, { key: req.key });
  const outbound = req.outbound ?? [];
  links.checkOut(outbound);
  const feeds = req.inbound !== undefined && req.inbound.length > 0 ? { ...req.feeds, ...(await links.receive(req.inbound)) } : req.feeds;
  let slabFailed = false;
  if (req.slab !== undefined && req.outputsAt !== undefined && !noSlabOutputs.has(session)) {
    try {
      return await runIntoSlab(session, feeds, req.slab, req.outputsAt);
    } catch {
      slabFailed = true; // retried below without pre-allocated outputs
    }
  }
  const start = performance.now();
  let outputs;
  try {
    outputs = await session.run(feeds, req.outputNames);
  } catch (err) {
    throw new EparaError('MODEL_ERROR', `model ${req.key} failed: ${message(err)}`, { key: req.key }, { cause: err });
  }
  const runMs = performance.now() - start;
  // The model runs, but not into pre-allocated outputs (its declared output dims are not what it produces).
  if (slabFailed) noSlabOutputs.add(session);
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
async function runIntoSlab(session: BackendSession, feeds: NamedTensors, slab: ArrayBuffer, outputsAt: readonly SlabOutput[]): Promise<RunResult> {
  const into = slabOutputViews(slab, outputsAt);
  const start = performance.now();
  const result = await session.run(feeds, undefined, into);
  const runMs = performance.now() - start;
  if (!slabOutputsChecked.has(session)) {
    if (!matchesPlan(result, outputsAt) || !sameData(result, into)) {
      noSlabOutputs.add(session);
      return { outputs: result, runMs };
    }
    slabOutputsChecked.add(session);
  }
  return { outputs: {}, runMs, inSlab: true };
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

async function handle(req: DeviceRequest): Promise<void> {
  try {
    if (req.op === 'load') reply({ id: req.id, ok: true, result: await load(req) });
    else if (req.op === 'run') {
      const result = await run(req);
      if (result.inSlab === true) return reply({ id: req.id, ok: 'slab', runMs: result.runMs, slab: req.slab! }, [req.slab!]);
      const { tensors, transfer } = prepareTransfer(req.slab === undefined ? result.outputs : unaliased(result.outputs, req.slab));
      const body: RunResult = result.forwardedBytes === undefined ? { outputs: tensors, runMs: result.runMs } : { outputs: tensors, runMs: result.runMs, forwardedBytes: result.forwardedBytes };
      // The lent slab goes back with the answer (the outputs are the backend's own buffers, copied by `unaliased`
      // if they view the slab).
      if (req.slab !== undefined && !transfer.includes(req.slab)) transfer.push(req.slab);
      reply(req.slab === undefined ? { id: req.id, ok: true, result: body } : { id: req.id, ok: true, result: body, slab: req.slab }, transfer);
    } else if (req.op === 'kvStep') reply({ id: req.id, ok: true, result: await kvStep(req) });
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
      await sessions.get(req.key)?.release();
      sessions.delete(req.key);
      reply({ id: req.id, ok: true, result: null });
    }
  } catch (err) {
    const e = toEparaError(err, 'MODEL_ERROR');
    const error = { code: e.code, message: e.message, details: { ...e.details } };
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
  parentPort!.postMessage(msg, transfer);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function fileSize(path: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  return (await stat(path)).size;
}

// One request at a time, in arrival order; an idle worker starts a request at once (no promise chain per message).
const queue: DeviceRequest[] = [];
let busy = false;

async function serve(): Promise<void> {
  busy = true;
  for (let req = queue.shift(); req !== undefined; req = queue.shift()) await handle(req);
  busy = false;
}

parentPort!.on('message', (req: DeviceRequest) => {
  // A closing device has already rejected every call it sent (`CLOSED`): only the run in progress is waited for,
  // not the work queued behind it, so the sessions are released one run after the close, not a backlog later.
  if (req.op === 'shutdown') queue.length = 0;
  queue.push(req);
  if (!busy) void serve();
});
