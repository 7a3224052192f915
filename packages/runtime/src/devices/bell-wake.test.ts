import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Sleeper } from './bell-wake.js';
import { allocateDoorbell, ANSWER_WAKES, BELL_IN, BELL_OUT, DOORBELL_SLOTS, HOST_PARKED, HostRing, WORKER_PARKED, WORKER_PARKS } from './doorbell.js';

/*
 * The doorbell's wake protocol on two real threads: the host's ring (this thread, the real `HostRing`) and a worker
 * that serves what is rung in the way the device worker does (awake while it runs, reading the ring before each
 * call, parked with `Sleeper` when nothing is left, woken now and then by a message too). Both sides pause for a
 * seeded pause between the protocol's steps (nothing, a short spin, or a bounded wait for the other thread to
 * reach its next step: the host for the worker to park, the worker for the host to ring), between calls and inside
 * each "run", so that rounds of different seeds meet inside each other's park and wake. A lost wake-up leaves a call
 * unanswered with both threads waiting: the round never ends and the test fails on its timeout. Nothing here reads
 * a clock. (Checked: with the waker's swap before its bump, or the sleeper's mark after its wait, a round hangs
 * within a few dozen calls; with the first version's mark, a plain 1 that any waker swapped, some runs hung on a
 * waker's late swap. Every interleaving of the protocol is checked in `bell-wake-model.test.ts`; this file checks
 * that the threads, `Atomics.waitAsync` and the event loops behave as that model has them.)
 */

/** The protocol's module as the worker runs it (the same source, made CommonJS for an eval'd worker). */
const WAKE_SOURCE = transformSync(readFileSync(new URL('./bell-wake.ts', import.meta.url), 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20' }).code;

/** Loads a steered pause waits at most for the other thread to reach the step it waits for. */
const STEER_BOUND = 50_000;

const RANDOM = `function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}`;

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const module = { exports: {} };
(function (module, exports) { ${WAKE_SOURCE} })(module, module.exports);
const { Sleeper, wake } = module.exports;
${RANDOM}
const { control, seed, pauseMax, runMax, idx, pollUs } = workerData;
const w = new Int32Array(control);
const rnd = seeded(seed);
const spin = (max) => { for (let i = Math.floor(rnd() * max); i > 0; i--) Atomics.load(w, idx.BELL_OUT); };
// A pause is nothing, a short spin, or a wait (bounded) for the host to ring: a ring that lands inside a step.
const pause = () => {
  const c = rnd();
  if (c < 0.4) return;
  if (c < 0.7) return spin(pauseMax);
  for (let i = 0; i < ${STEER_BOUND} && Atomics.load(w, idx.BELL_IN) === rungIn; i++);
};
let rungIn = 0, rungOut = 0, pending = 0, busy = false;
function take() {
  const n = Atomics.load(w, idx.BELL_IN);
  pending += n - rungIn;
  rungIn = n;
}
function onBell() {
  take();
  if (busy) return;
  if (pending > 0) void serve();
  else sleeper.park(rungIn);
}
const sleeper = new Sleeper(w, idx.BELL_IN, idx.WORKER_PARKED, idx.WORKER_PARKS, onBell, pause, pollUs);
async function serve() {
  busy = true;
  sleeper.awake();
  for (;;) {
    take();
    if (pending === 0) break;
    pending--;
    spin(runMax);
    if (wake(w, idx.HOST_PARKED, idx.BELL_OUT, ++rungOut, pause)) w[idx.ANSWER_WAKES]++;
    if (rnd() < 0.25) await new Promise((r) => setImmediate(r)); // an event-loop turn, as a run's awaits take
    else await undefined;
  }
  busy = false;
  sleeper.park(rungIn);
}
// A message wakes the worker apart from the bell (the device worker's message path): it leaves its wait outstanding.
parentPort.on('message', () => {
  take();
  if (!busy) void serve();
});
sleeper.park(rungIn);
`;

const seeded = new Function(`${RANDOM}; return seeded;`)() as (seed: number) => () => number;

interface Round {
  readonly answered: number;
  readonly ringWakes: number;
  readonly workerParks: number;
  readonly answerWakes: number;
}

/** Rings `calls` calls in, a seeded burst at a time (at most the ring's slots in flight), until all are answered. */
function round(seed: number, calls: number, pollUs = 0): Promise<Round> {
  const memory = allocateDoorbell(8);
  const rnd = seeded(seed * 7919 + 1);
  // Each side's pauses and the worker's runs are drawn per round: some rounds pause the host long against a quick
  // worker (it parks inside the host's ring), some the other way round.
  const hostPause = Math.floor(rnd() * rnd() * 20_000);
  const pauseMax = Math.floor(rnd() * rnd() * 20_000);
  const runMax = Math.floor(rnd() * rnd() * 20_000);
  const spin = (max: number): void => {
    for (let i = Math.floor(rnd() * max); i > 0; i--) Atomics.load(ring.control.words, BELL_IN);
  };
  const idx = { BELL_IN, BELL_OUT, WORKER_PARKED, HOST_PARKED, WORKER_PARKS, ANSWER_WAKES };
  const worker = new Worker(WORKER, { eval: true, workerData: { control: memory.control, seed, pauseMax, runMax, idx, pollUs } });
  let rung = 0;
  let answered = 0;
  let finish: (r: Round) => void = () => {};
  const pokes = seed % 2 === 0 ? 0.2 : 0;
  const ringSome = (): void => {
    // Mostly one call at a time (a ring the worker could miss is then the last word: nothing later rescues it).
    for (let k = rnd() < 0.6 ? 1 : 1 + Math.floor(rnd() * DOORBELL_SLOTS); k > 0 && rung < calls && ring.hasRoom(); k--) {
      spin(runMax / 4);
      ring.ring(++rung, 1);
      if (rnd() < pokes) worker.postMessage(0);
    }
  };
  const ring: HostRing = new HostRing(
    memory,
    () => {
      while (ring.nextFinished() >= 0) answered++;
      if (answered === calls) return finish({ answered, ...ring.wakes() });
      if (rnd() < 0.2) {
        setImmediate(() => {
          ringSome();
          ring.listen();
        });
        return;
      }
      ringSome();
      ring.listen();
    },
    () => {
      // Nothing, a short spin, or a wait (bounded) for the worker to park: a park that lands inside the ring.
      const c = rnd();
      if (c < 0.4) return;
      if (c < 0.7) return spin(hostPause);
      for (let i = 0; i < STEER_BOUND && Atomics.load(ring.control.words, WORKER_PARKED) === 0; i++);
    },
  );
  return new Promise<Round>((resolve, reject) => {
    finish = resolve;
    worker.on('error', reject);
    ringSome();
  }).finally(() => worker.terminate());
}

describe('the sleeper’s poll', () => {
  const words = (): Int32Array => new Int32Array(new SharedArrayBuffer(16)); // [counter, mark, parks, spare]

  it('takes a call rung in before it parks without parking: no mark for a waker to notify, no park counted', async () => {
    const w = words();
    let bells = 0;
    const sleeper = new Sleeper(w, 0, 1, 2, () => bells++, undefined, 50);
    w[0] = 1; // rung while the thread was running
    sleeper.park(0);
    expect([Atomics.load(w, 1), Atomics.load(w, 2)]).toEqual([0, 0]);
    await Promise.resolve();
    expect(bells).toBe(1);
  });

  it('parks at once when told not to poll (the next call is expected by message)', async () => {
    const w = words();
    let bells = 0;
    const sleeper = new Sleeper(w, 0, 1, 2, () => bells++, undefined, 50);
    w[0] = 1;
    sleeper.park(0, false);
    expect(Atomics.load(w, 2)).toBe(1);
    await Promise.resolve();
    expect(bells).toBe(1);
  });

  it('parks once its poll found nothing, marked for the next count', () => {
    const w = words();
    const sleeper = new Sleeper(w, 0, 1, 2, () => undefined, undefined, 1);
    sleeper.park(0);
    expect([Atomics.load(w, 1), Atomics.load(w, 2)]).toEqual([1, 1]);
    Atomics.store(w, 0, 1);
    Atomics.notify(w, 0); // ends the outstanding wait
  });

  it('without a poll, parks even when the counter moved (the wait’s compare sees it)', async () => {
    const w = words();
    let bells = 0;
    const sleeper = new Sleeper(w, 0, 1, 2, () => bells++);
    w[0] = 1;
    sleeper.park(0);
    expect(Atomics.load(w, 2)).toBe(1);
    await Promise.resolve();
    expect(bells).toBe(1);
    expect(Atomics.load(w, 1)).toBe(0); // awake again
  });
});

describe('doorbell wake protocol', () => {
  it('answers every call rung in, with a notify only for a parked thread, over seeded interleavings of both threads', async () => {
    const calls = 100;
    for (let seed = 1; seed <= 5; seed++) {
      const r = await round(seed, calls);
      expect(r.answered).toBe(calls);
      // One notify at most per park (the mark's swap), never one per ring as before.
      expect(r.ringWakes).toBeLessThanOrEqual(r.workerParks);
      expect(r.ringWakes).toBeLessThanOrEqual(calls);
      expect(r.answerWakes).toBeLessThanOrEqual(calls);
    }
    // A lost wake-up hangs a round: the bound is for that, far past what the rounds take on a loaded machine.
  }, 120_000);

  it('loses no wake-up when the worker polls the ring before it parks', async () => {
    const calls = 100;
    // Polls short and long against the rounds' pauses: some rings land in the poll, some after it, some in the park.
    for (const [seed, pollUs] of [[6, 5], [7, 50], [8, 400], [9, 50]] as const) {
      const r = await round(seed, calls, pollUs);
      expect(r.answered).toBe(calls);
      expect(r.ringWakes).toBeLessThanOrEqual(r.workerParks);
      expect(r.answerWakes).toBeLessThanOrEqual(calls);
    }
  }, 120_000);
});
