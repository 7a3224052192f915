import { describe, expect, it } from 'vitest';
import { bumpsPast, markFor } from './bell-wake.js';

/*
 * The doorbell's wake protocol checked over every interleaving: the host's side (`HostRing.ring`, `listen` and its
 * wake-up, the device reading every finished slot) and the worker's (`Sleeper`, the device worker's `serve`, `onBell`
 * and message handler) written as two state machines whose steps are the code's shared-memory accesses (each an
 * `Atomics` call, sequentially consistent), and each thread's event loop as JavaScript runs it: one job at a time to
 * its end, microtasks before the next task, the next task any one of those ready (a notified wait, a message, a run
 * that finished, a submit). A depth-first search visits every state reachable from the start for a few calls and
 * message pokes. A lost wake-up is a state with nothing left to run on either thread and a call not answered; every
 * end state must have answered all of them. No threads, no clock: the check is exact for the model, and the model
 * is the code's control flow step for step (keep the two together: a change to either side's protocol changes the
 * model here).
 *
 * Order: the host may post a message before a ring as well as after one (a batch by message, then one rung in behind
 * it); each rung call carries the count of messages posted before it, and the worker takes it only once it has
 * received that many. Every end state must also have served the calls in the order the host sent them.
 *
 * The same search over the first version of the protocol (the mark a plain 1, swapped to 0 by any waker) finds its
 * lost wake-up: a waker's swap that comes late, after the sleeper already read its bump and marked itself for its
 * next wait, takes that mark and notifies a wait not yet enqueued.
 */

/** How a sleeper marks itself parked, and what a waker that bumped the counter to `count` swaps to 0. */
interface Marking {
  readonly mark: (seen: number) => number;
  readonly expect: (count: number) => number;
}

const BY_COUNT: Marking = { mark: markFor, expect: (count) => count | 0 };
const FLAG: Marking = { mark: () => 1, expect: () => 1 };

interface Thread {
  /** The job running: its remaining steps, first first. */
  ops: string[];
  micro: string[];
  /** Ready tasks (a multiset, kept sorted: the state's key must not depend on the order they came in). */
  macro: string[];
}

interface State {
  // Shared memory: the two counters, the two marks, whether each side's wait is enqueued.
  IN: number;
  OUT: number;
  WM: number;
  HM: number;
  waitIn: boolean;
  waitOut: boolean;
  // The worker: calls taken (its `rungIn`), answered (`rungOut`), its queue ('r' rung, 'm' by message), whether it
  // serves, whether its `Sleeper` has a wait outstanding.
  w: Thread;
  seen: number;
  out: number;
  queue: string;
  busy: boolean;
  waiting: boolean;
  // The host: calls rung, answers read, whether its `HostRing` waits, message pokes it may still post.
  h: Thread;
  rung: number;
  read: number;
  hWaiting: boolean;
  pokes: number;
  // Order: messages the host posted and the worker received, the posted count each rung call carries, whether the
  // worker holds a rung call for its message (`ringWaits`), what the host sent and the worker served, in order.
  posted: number;
  msgsIn: number;
  after: number[];
  ringWaits: boolean;
  sent: string;
  served: string;
}

function cloneThread(t: Thread): Thread {
  return { ops: t.ops.slice(), micro: t.micro.slice(), macro: t.macro.slice() };
}

function clone(s: State): State {
  return { ...s, w: cloneThread(s.w), h: cloneThread(s.h), after: s.after.slice() };
}

/** The state's key: every field, in a fixed order. */
function keyOf(s: State): string {
  const t = (x: Thread): string => `${x.ops.join(',')}/${x.micro.join(',')}/${x.macro.join(',')}`;
  return `${s.IN} ${s.OUT} ${s.WM} ${s.HM} ${+s.waitIn}${+s.waitOut} ${t(s.w)} ${s.seen} ${s.out} ${s.queue}.${+s.busy}${+s.waiting} ${t(s.h)} ${s.rung} ${s.read} ${+s.hWaiting} ${s.pokes} ${s.posted} ${s.msgsIn} ${s.after.join(',')} ${+s.ringWaits} ${s.sent} ${s.served}`;
}

function addTask(t: Thread, task: string): void {
  t.macro.push(task);
  t.macro.sort();
}

/** Runs one step of `thread`'s job (or starts its next job); returns the states it can lead to. */
function step(s0: State, thread: 'w' | 'h', m: Marking): State[] {
  const s: State = clone(s0);
  const t = s[thread];
  if (t.ops.length === 0) {
    if (t.micro.length > 0) {
      t.ops = [t.micro.shift()!];
      return [s];
    }
    // Any ready task may run next: one successor per distinct task.
    return [...new Set(t.macro)].map((task) => {
      const n = clone(s0);
      const nt = n[thread];
      nt.macro.splice(nt.macro.indexOf(task), 1);
      nt.ops = [task];
      return n;
    });
  }
  const op = t.ops.shift()!;
  const then = (...ops: string[]): void => void t.ops.unshift(...ops);
  switch (op) {
    // ---- the worker ----
    case 'serve': // busy = true; sleeper.awake(); for (;;) { takeRung(); … }
      s.busy = true;
      return then('awake', 'loop'), [s];
    case 'awake':
      s.WM = 0;
      return [s];
    case 'loop':
      return then('take', 'next'), [s];
    case 'take': {
      // takeRung(): one load of the host's counter; the calls up to the first one rung behind a message not received
      const rung = s.IN;
      s.ringWaits = false;
      while (s.seen < rung) {
        if (s.after[s.seen]! > s.msgsIn) {
          s.ringWaits = true;
          break;
        }
        s.queue += 'r';
        s.seen++;
      }
      return [s];
    }
    case 'next': {
      if (s.queue === '') {
        s.busy = false;
        return then('parkUnless'), [s];
      }
      const req = s.queue[0]!;
      s.queue = s.queue.slice(1);
      s.served += req;
      if (t.ops.length > 0) throw new Error('model: serve awaits with steps left in its job');
      addTask(s.w, `ran:${req}`); // await handle(req): the run ends in a later task
      return [s];
    }
    case 'ran:r': // finishRung: the worker's bump, then its swap of the host's mark
      return then('storeOut', 'casHost', 'loop'), [s];
    case 'ran:m': // answered by message: no bump
      return then('loop'), [s];
    case 'storeOut':
      s.OUT = ++s.out;
      return [s];
    case 'casHost':
      if (s.HM === m.expect(s.out)) {
        s.HM = 0;
        then('notifyOut');
      }
      return [s];
    case 'notifyOut':
      if (s.waitOut) {
        s.waitOut = false;
        addTask(s.h, 'hWoken');
      }
      return [s];
    case 'parkUnless': // parkUnlessWaiting(): no park while a rung call waits for its message
      if (!s.ringWaits) then('park');
      return [s];
    case 'park': // Sleeper.park(rungIn)
      return then('markW', s.waiting ? 'recheck' : 'waitIn'), [s];
    case 'markW':
      s.WM = m.mark(s.seen);
      return [s];
    case 'recheck': // a wait is still outstanding: the counter read once more
      if (s.IN !== s.seen) s.w.micro.push('bell');
      return [s];
    case 'waitIn': // Atomics.waitAsync(IN, seen): compares and enqueues at once
      if (s.IN !== s.seen) s.w.micro.push('bell');
      else s.waitIn = s.waiting = true;
      return [s];
    case 'woken': // the outstanding wait was notified
      s.waiting = false;
      return then('awake', 'onBell'), [s];
    case 'bell':
      return then('awake', 'onBell'), [s];
    case 'onBell':
      return then('take', 'onBell2'), [s];
    case 'onBell2':
      if (!s.busy) then(s.queue !== '' ? 'serve' : 'parkUnless');
      return [s];
    case 'msg': // the message handler: takeRung(); queue.push(req); messagesIn++; takeRung(); if (!busy) serve()
      return then('take', 'msg2', 'take', 'msg3'), [s];
    case 'msg2':
      s.queue += 'm';
      s.msgsIn++;
      return [s];
    case 'msg3':
      if (!s.busy) then('serve');
      return [s];
    // ---- the host ----
    case 'submit': // a message first or not; HostRing.ring: the bump, the swap of the worker's mark, then listen()
      return then('poke', 'storeIn', 'casWorker', 'poke', 'listen', 'more'), [s];
    case 'storeIn':
      s.after[s.rung] = s.posted;
      s.sent += 'r';
      s.IN = ++s.rung;
      return [s];
    case 'casWorker':
      if (s.WM === m.expect(s.rung)) {
        s.WM = 0;
        then('notifyIn');
      }
      return [s];
    case 'notifyIn':
      if (s.waitIn) {
        s.waitIn = false;
        addTask(s.w, 'woken');
      }
      return [s];
    case 'poke': {
      // The host may post a message to the worker after a ring (another call that goes by message).
      if (s.pokes === 0) return [s];
      const poked = clone(s);
      poked.pokes--;
      poked.posted++;
      poked.sent += 'm';
      addTask(poked.w, 'msg');
      return [s, poked];
    }
    case 'more': {
      // The same job may ring another batch (two batches in one turn of the host's loop).
      const i = s.h.macro.indexOf('submit');
      if (i < 0) return [s];
      const again = clone(s);
      again.h.macro.splice(i, 1);
      again.h.ops.unshift('submit');
      return [s, again];
    }
    case 'listen':
      if (!s.hWaiting && s.rung - s.read > 0) {
        s.hWaiting = true;
        then('markH', 'waitOut');
      }
      return [s];
    case 'markH':
      s.HM = m.mark(s.read);
      return [s];
    case 'waitOut':
      if (s.OUT !== s.read) s.h.micro.push('hWake');
      else s.waitOut = true;
      return [s];
    case 'hWoken':
    case 'hWake': // the ring's onWake: the mark cleared, every finished slot read, listen() again
      s.hWaiting = false;
      return then('clearH', 'readAll', 'listen'), [s];
    case 'clearH':
      s.HM = 0;
      return [s];
    case 'readAll': // nextFinished() until -1: one load of the worker's counter each
      if (s.read < s.OUT) {
        s.read++;
        then('readAll');
      }
      return [s];
    default:
      throw new Error(`model: no step ${op}`);
  }
}

function idle(t: Thread): boolean {
  return t.ops.length === 0 && t.micro.length === 0 && t.macro.length === 0;
}

interface Check {
  readonly states: number;
  readonly ends: number;
  /** The steps to a state where nothing can run and a call is unanswered, if there is one. */
  readonly lost: string[] | undefined;
}

/** Visits every state reachable with `calls` calls and up to `pokes` message pokes; stops at the first lost wake-up. */
function check(calls: number, pokes: number, m: Marking): Check {
  const start: State = {
    IN: 0, OUT: 0, WM: 0, HM: 0, waitIn: false, waitOut: false,
    w: { ops: ['park'], micro: [], macro: [] }, seen: 0, out: 0, queue: '', busy: false, waiting: false,
    h: { ops: [], micro: [], macro: Array<string>(calls).fill('submit') }, rung: 0, read: 0, hWaiting: false, pokes,
    posted: 0, msgsIn: 0, after: [], ringWaits: false, sent: '', served: '',
  };
  const seen = new Set<string>();
  let ends = 0;
  const path: string[] = [];
  const visit = (s: State): string[] | undefined => {
    const key = keyOf(s);
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (idle(s.w) && idle(s.h)) {
      ends++;
      if (s.read !== calls || s.queue !== '') return [...path, `stuck: ${key}`];
      return s.served === s.sent ? undefined : [...path, `out of order: ${key}`];
    }
    for (const thread of ['w', 'h'] as const) {
      const t = s[thread];
      if (idle(t)) continue;
      for (const next of step(s, thread, m)) {
        path.push(`${thread} ${t.ops[0] ?? t.micro[0] ?? next[thread].ops[0]}`);
        const lost = visit(next);
        path.pop();
        if (lost !== undefined) return lost;
      }
    }
    return undefined;
  };
  const lost = visit(start);
  return { states: seen.size, ends, lost };
}

describe('doorbell wake protocol, every interleaving', () => {
  // A poke is a choice the host may take or not, so a search with one covers every schedule without it too.
  it.each([
    [1, 1],
    [2, 1],
    [3, 1],
  ])('answers every call: %i calls, up to %i message poke', (calls, pokes) => {
    const r = check(calls, pokes, BY_COUNT);
    expect(r.lost).toBeUndefined();
    expect(r.ends).toBeGreaterThan(0);
    expect(r.states).toBeGreaterThan(100);
  });

  it('finds the lost wake-up of a plain parked flag (the first version), so the search can find one', () => {
    const r = check(2, 0, FLAG);
    expect(r.lost).toBeDefined();
    // The late swap: the host's swap for a call the worker already took, after the worker marked its next park.
    expect(r.lost!.at(-1)).toMatch(/^stuck: /);
  });
});

describe('doorbell counters across the int32 wrap', () => {
  it('counts the bumps past a count kept as a plain number, before, at and after 2^31', () => {
    for (const seen of [0, 5, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 3]) {
      for (const ahead of [0, 1, 3, 4]) {
        const stored = new Int32Array([seen + ahead])[0]!; // what Atomics.store leaves in the control block
        expect(bumpsPast(seen, stored)).toBe(ahead);
      }
      // The mark a sleeper sets at `seen` is the int32 image of the next count: what that count's waker swaps.
      expect(markFor(seen)).toBe(new Int32Array([seen + 1])[0]);
    }
  });
});
