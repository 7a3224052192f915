/**
 * The floor of running a request off the host thread, with no EPARA code: a bare worker answering one request at
 * a time, by one of the two mechanisms a device uses.
 *
 * - `atomics`: the host bumps a shared counter and notifies the worker only if it is parked; the worker, waiting
 *   with `Atomics.waitAsync` in its event loop, answers the same way (the doorbell's protocol, marks simplified to
 *   one request at a time);
 * - `message`: a `postMessage` each way (the inputs and outputs cloned).
 *
 * `spinUs` > 0 keeps the worker warm: after each answer it polls for the next request that long before it parks
 * (the counter, or `receiveMessageOnPort`), as a device's `doorbellSpinUs` does; 0 parks it at once (idle: every
 * request wakes it). `withModel` runs the add-one model in the worker on the request's four floats (the floor of
 * running inference off the host thread); without, the worker answers at once (the two thread hops alone).
 *
 * Each request records its one-way hops and the worker's run (µs): `toWorker` from the host's send to the worker's
 * wake-up (0 when its poll caught it: not recorded), `toHost` from the worker's answer to the host hearing it.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { addOneModel } from './add-one-model.js';

export type FloorVia = 'atomics' | 'message';

export interface FloorLayer {
  /** One request; resolves when its answer is on the host. */
  readonly once: (i: number) => Promise<void>;
  readonly close: () => Promise<void>;
  /** Per request so far, µs. */
  readonly hops: { readonly toWorker: number[]; readonly toHost: number[]; readonly run: number[] };
  /**
   * The wake-ups so far (`atomics` only), counted as a device's doorbell counts them: `requests`, the worker's
   * `workerParks`, the host's notifies of a parked worker (`ringWakes`) and the worker's of a parked host
   * (`answerWakes`).
   */
  readonly wakeCounts: () => { readonly requests: number; readonly workerParks: number; readonly ringWakes: number; readonly answerWakes: number };
}

/*
 * words[0] the host's count, words[1] the worker's, words[2] "worker parked", words[3] "host parked"; f64[4] the
 * worker's wake-up time (0: its poll caught the request), f64[5] the time it answered, f64[6] and f64[7] its run's
 * start and end (absolute ms, performance.timeOrigin + now()). The request's four floats at byte 64, y behind them.
 * words[24] counts the worker's parks (waits that did not return at once), words[25] its notifies of a parked host.
 */
const BARE_WORKER = `
const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const w = new Int32Array(workerData.control);
const f = new Float64Array(workerData.control);
const io = new Float32Array(workerData.control, 64, 8);
const spinMs = workerData.spinUs / 1000;
const viaMessage = workerData.via === 'message';
let seen = 0;
let session, ort;
const input = new Float32Array(4);
function now() { return performance.timeOrigin + performance.now(); }
async function main() {
  if (workerData.ortPath) {
    ort = require(workerData.ortPath);
    session = await ort.InferenceSession.create(workerData.model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  }
  if (viaMessage) parentPort.on('message', (m) => void onMessage(m, false));
  else parentPort.on('message', () => undefined); // keeps the event loop alive (a pending waitAsync does not)
  parentPort.postMessage('ready');
  if (!viaMessage) park();
}
async function run(x) {
  if (!session) return x;
  input.set(x);
  f[6] = now();
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 4]) });
  f[7] = now();
  return out.y.data;
}
async function onMessage(m, spun) {
  f[4] = spun ? 0 : now();
  const y = await run(m.x);
  f[5] = now();
  parentPort.postMessage({ y });
  if (spinMs > 0) {
    const until = performance.now() + spinMs;
    while (performance.now() < until) {
      const next = receiveMessageOnPort(parentPort);
      if (next !== undefined) return void onMessage(next.message, true);
    }
  }
}
function park() {
  if (spinMs > 0) {
    const until = performance.now() + spinMs;
    while (performance.now() < until) if (Atomics.load(w, 0) !== seen) return void serve(true);
  }
  Atomics.store(w, 2, 1);
  const r = Atomics.waitAsync(w, 0, seen);
  if (!r.async) return void queueMicrotask(() => serve(false));
  w[24]++;
  r.value.then(() => serve(false));
}
async function serve(spun) {
  f[4] = spun ? 0 : now();
  Atomics.store(w, 2, 0);
  seen = Atomics.load(w, 0);
  io.set(await run(io.subarray(0, 4)), 4);
  f[5] = now();
  Atomics.store(w, 1, seen);
  if (Atomics.compareExchange(w, 3, 1, 0) === 1) {
    w[25]++;
    Atomics.notify(w, 1);
  }
  park();
}
void main();
`;

type WaitAsync = (w: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** A bare worker answering one request at a time by `via` (see the module's comment). */
export async function floorLayer(via: FloorVia, options: { readonly spinUs?: number; readonly withModel?: boolean } = {}): Promise<FloorLayer> {
  const control = new SharedArrayBuffer(128);
  const w = new Int32Array(control);
  const f = new Float64Array(control);
  const io = new Float32Array(control, 64, 8);
  const req = createRequire(new URL('../../packages/runtime/package.json', import.meta.url));
  const worker = new Worker(BARE_WORKER, {
    eval: true,
    workerData: { control, via, spinUs: options.spinUs ?? 0, ...(options.withModel === true ? { ortPath: req.resolve('onnxruntime-node'), model: addOneModel() } : {}) },
  });
  await new Promise((resolve) => worker.once('message', resolve));
  const hops = { toWorker: [] as number[], toHost: [] as number[], run: [] as number[] };
  const now = (): number => performance.timeOrigin + performance.now();
  let sent = 0;
  const answered = (): void => {
    const heard = now();
    if (f[4]! > 0) hops.toWorker.push((f[4]! - sent) * 1000);
    hops.toHost.push((heard - f[5]!) * 1000);
    if (f[7]! > 0) hops.run.push((f[7]! - f[6]!) * 1000);
  };
  let count = 0;
  let ringWakes = 0;
  let once: (i: number) => Promise<void>;
  if (via === 'message') {
    let resolveNext: (() => void) | undefined;
    worker.on('message', () => {
      answered();
      const r = resolveNext!;
      resolveNext = undefined;
      r();
    });
    once = (i) =>
      new Promise<void>((resolve) => {
        resolveNext = resolve;
        sent = now();
        worker.postMessage({ x: new Float32Array([i, 1, 2, 3]) });
      });
  } else {
    once = (i) => {
      io[0] = i;
      io[1] = 1;
      io[2] = 2;
      io[3] = 3;
      sent = now();
      Atomics.store(w, 0, ++count);
      if (Atomics.compareExchange(w, 2, 1, 0) === 1) {
        ringWakes++;
        Atomics.notify(w, 0);
      }
      Atomics.store(w, 3, 1);
      const r = waitAsync(w, 1, count - 1);
      if (!r.async) {
        Atomics.store(w, 3, 0);
        answered();
        return Promise.resolve();
      }
      return r.value.then(() => {
        Atomics.store(w, 3, 0);
        answered();
      });
    };
  }
  const wakeCounts = (): ReturnType<FloorLayer['wakeCounts']> => ({ requests: count, workerParks: Atomics.load(w, 24), ringWakes, answerWakes: Atomics.load(w, 25) });
  return { once, close: async () => void (await worker.terminate()), hops, wakeCounts };
}
