import { afterEach, describe, expect, it } from 'vitest';
import { ready, recordingLogger, until, untilReady } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';

/*
 * Faults injected into a running cluster of real processes (see fault-harness.ts): a server restarted under its
 * id while its old process is stopped, which later resumes; a peer killed mid-stream; a peer stopped for long,
 * whose stale answers arrive after its requests were failed over. Every request settles once, right or typed,
 * by its deadline plus the grace plus a bound, and the cluster serves again when the fault ends.
 */

const h = new FaultHarness();
afterEach(() => h.close());

describe('fault harness: real processes on 127.0.0.1', () => {
  it('a server restarted under its id while its old process is stopped: the new run serves, and the old one is refused when it resumes', async () => {
    const logger = recordingLogger();
    const n0 = await h.observer({ logger });
    const done = completions(n0);
    // A second per request: the old run holds the requests when it stops.
    const old = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 1000, tag: 1 });
    await untilReady(n0, 'n1');
    const run = submitAll(n0, [0, 1, 2, 3, 4, 5], 15_000);
    await until(() => run.offloaded() >= 6, 'n0 offloaded the six requests to n1');
    const fresh = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 2, waitForStart: true });
    old.child.kill('SIGSTOP');
    fresh.startNow();
    const freshAddress = await fresh.address;
    // Each request was answered by the old run before it stopped, or by the new run, or fails typed.
    expectInvariants(await run.settled, [1, 2]);
    await until(() => n0.view().entries['n1']?.address === freshAddress && ready(n0, 'n1'), 'n0 sees the new run of n1', 30_000);
    const meanwhile = await submitAll(n0, [10, 11, 12], 5000).settled;
    expectInvariants(meanwhile, [2]);
    expect(meanwhile.every((o) => o.code === undefined)).toBe(true);

    // The old run resumes: it answers its held requests over its closed link, redials n0 as n1 and is refused.
    old.child.kill('SIGCONT');
    await until(() => logger.messages.includes('link from a replaced run of a peer refused'), 'n0 refuses the resumed old run', 30_000);
    const after = await submitAll(n0, [20, 21, 22, 23], 5000).settled;
    expectInvariants(after, [2]);
    expect(after.every((o) => o.code === undefined)).toBe(true);
    expect(n0.view().entries['n1']?.address).toBe(freshAddress);
    done.check();
  });

  it('a peer killed mid-stream: every frame settles in order, right or PEER_UNAVAILABLE, and the stream ends', async () => {
    const n0 = await h.observer();
    const p = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 300, tag: 1 });
    await untilReady(n0, 'n1');
    const stream = await n0.openStream('echo', { rateHz: 1, stalenessMs: 60_000 });
    expect(stream.pinnedTo).toBe('n1');
    for (let k = 0; k < 6; k++) stream.push({ x: { type: 'float32', dims: [1], data: Float32Array.of(k) } });
    const results: { seq: number; value?: number; code?: string }[] = [];
    for await (const r of stream) {
      results.push(r.ok ? { seq: r.seq, value: (r.outputs['x']!.data as Float32Array)[0]! } : { seq: r.seq, code: r.error.code });
      // Killed once the first answer is back: the rest are in flight or queued there.
      if (results.length === 1) p.child.kill('SIGKILL');
    }
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of results) {
      if (r.code !== undefined) expect(r.code).toBe('PEER_UNAVAILABLE');
      else expect(r.value).toBe(2 * r.seq);
    }
    expect(results.some((r) => r.code === 'PEER_UNAVAILABLE')).toBe(true);
  });

  it('a peer stopped for long: its requests fail over typed; once resumed, its stale answers are dropped and it serves again', async () => {
    const n0 = await h.observer();
    const done = completions(n0);
    const p = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 1000, tag: 1 });
    await untilReady(n0, 'n1');
    // n1 runs one a second: n0 counts the ones it already sent, so the fourth needs a budget past 4 s to be sent.
    const run = submitAll(n0, [0, 1, 2, 3], 5000);
    await until(() => run.offloaded() >= 4, 'n0 offloaded the four requests to n1');
    p.child.kill('SIGSTOP');
    const outcomes = await run.settled;
    expectInvariants(outcomes, [1]);
    expect(outcomes.some((o) => o.code !== undefined)).toBe(true);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the stopped n1 dead', 30_000);
    p.child.kill('SIGCONT');
    await untilReady(n0, 'n1');
    // Queued behind the held requests (earlier deadlines), answered after their stale answers crossed the link.
    const late = await submitAll(n0, [7], 30_000).settled;
    expectInvariants(late, [1]);
    expect(late[0]!.code).toBeUndefined();
    done.check();
  });
});
