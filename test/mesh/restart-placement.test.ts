import { afterEach, describe, expect, it } from 'vitest';
import { input, ready, serverOf, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';
import { MESH_TYPE, meshTypeOf } from './ws-frames.js';
import type { PeerProcess } from './fault-harness.js';

/*
 * A placement server restarted under its id while its old process is stopped (SIGSTOP: its links stay open, so
 * no peer sees it leave): the new run starts with nothing loaded and no placement state. Only one server has a
 * device, so the service has exactly one instance, on it. The placement period is ten minutes: the service must
 * be placed again on an event (the restart seen in the view), never by waiting for the period. The observer n9
 * (this process, placement on, no device) takes the requests; every submit settles once, right or typed.
 */

const h = new FaultHarness();
afterEach(() => h.close());

const PERIOD_MS = 600_000;

/** Restarts `id` under a new process (tag `tag`) while its old process is stopped; resolves with the new one's address. */
async function restartWhileStopped(old: PeerProcess, config: { id: string; seed: string; tag: number; noDevice?: boolean }): Promise<string> {
  const fresh = await h.peer({ ...config, serviceTimeMs: 20, placement: true, placementPeriodMs: PERIOD_MS, waitForStart: true });
  old.child.kill('SIGSTOP');
  fresh.startNow();
  return fresh.address;
}

describe('a placement server restarted under its id while its old process is stopped', () => {
  it('the server holding the only instance: the leader places the service on its new run at once', async () => {
    const n9 = await h.observer({ id: 'n9', placement: { initialDelayMs: 300 }, placementPeriodMs: PERIOD_MS });
    const done = completions(n9);
    const seed = n9.address!;
    // The requests are expected at n2: placement keeps the instance there however slow this machine makes the
    // round trips it measures (a loaded machine's delays could otherwise rule n2 out for demand entering at n1).
    await h.peer({ id: 'n1', seed, serviceTimeMs: 20, tag: 1, placement: true, noDevice: true, placementPeriodMs: PERIOD_MS, demandAt: 'n2' });
    const old = await h.peer({ id: 'n2', seed, serviceTimeMs: 20, tag: 2, placement: true, placementPeriodMs: PERIOD_MS });
    await until(() => ready(n9, 'n2') && n9.stats().leader === 'n1', 'n9 sees the instance n1 placed on n2', 30_000);
    const before = await submitAll(n9, [1, 2, 3], 5000).settled;
    expectInvariants(before, [2]);

    const address = await restartWhileStopped(old, { id: 'n2', seed, tag: 3 });
    // The new run has nothing loaded: the service is back only once the leader placed it again.
    await until(() => n9.view().entries['n2']?.address === address && ready(n9, 'n2'), 'n9 sees an instance on the new run of n2', 60_000);
    const after = await submitAll(n9, [4, 5, 6], 5000).settled;
    expectInvariants(after, [3]);
    expect(after.every((o) => o.code === undefined)).toBe(true);
    done.check();
  }, 90_000); // a hang guard only

  it('the leader, holding the only instance: its new run gets the device reports and places the service at once', async () => {
    const n9 = await h.observer({ id: 'n9', placement: { initialDelayMs: 300 }, placementPeriodMs: PERIOD_MS });
    const seed = n9.address!;
    const old = await h.peer({ id: 'n1', seed, serviceTimeMs: 20, tag: 1, placement: true, placementPeriodMs: PERIOD_MS });
    await h.peer({ id: 'n2', seed, serviceTimeMs: 20, tag: 2, placement: true, noDevice: true, placementPeriodMs: PERIOD_MS });
    await until(() => ready(n9, 'n1') && n9.stats().leader === 'n1', 'n9 sees the instance n1 placed on itself', 30_000);

    const address = await restartWhileStopped(old, { id: 'n1', seed, tag: 3 });
    await until(() => n9.view().entries['n1']?.address === address && ready(n9, 'n1'), 'n9 sees an instance on the new run of n1', 60_000);
    const out = await n9.submit('echo', input([7]), { deadline: Date.now() + 5000 });
    expect([serverOf(out), (out['x']!.data as Float32Array)[0]]).toEqual([3, 14]);
  }, 90_000); // a hang guard only

  it("the leader's decision reaches the new run before the run sees it lead: it is sent again once the run reports to it", async () => {
    // Every node behind its own frame proxy. The ring tokens n1 sends to n2's new run are held back until n1 has
    // computed its placement for that run (and sent it), so the run gets the decision while its view does not hold
    // n1 yet — as a loaded machine can order them: n1 learns of the run through n9, the run of n1 only through
    // n1's token — and ignores it (or the decision went over the old run's link, which the new run's replaced).
    // Before, nothing sent it again — it had placed for the new run, so no `joined` run followed — and the service
    // had no instance until the ten-minute period.
    const n9 = await h.proxiedObserver({ id: 'n9', placement: { initialDelayMs: 300 }, placementPeriodMs: PERIOD_MS });
    const seed = n9.address!;
    const n1 = await h.proxiedPeer({ id: 'n1', seed, serviceTimeMs: 20, tag: 1, placement: true, noDevice: true, placementPeriodMs: PERIOD_MS, demandAt: 'n2' });
    const old = await h.proxiedPeer({ id: 'n2', seed, serviceTimeMs: 20, tag: 2, placement: true, placementPeriodMs: PERIOD_MS });
    await until(() => ready(n9, 'n2') && n9.stats().leader === 'n1', 'n9 sees the instance n1 placed on n2', 30_000);

    const fresh = await h.proxiedPeer({ id: 'n2', seed, serviceTimeMs: 20, tag: 3, placement: true, placementPeriodMs: PERIOD_MS, waitForStart: true });
    const runs = n1.output().split('"placementComputed"').length - 1;
    let held: Buffer[] | undefined = [];
    let release = false;
    // Installed after the new run's proxy: only frames to the new run are held (the old run's proxy is left as is).
    h.frames((frame, link) => {
      if (held === undefined || link.from !== 'n1' || link.to !== 'n2') return [frame.raw];
      if (meshTypeOf(frame) !== MESH_TYPE.syncToken) return [frame.raw];
      if (!release) return (held.push(frame.raw), []);
      const out = [...held, frame.raw];
      held = undefined;
      return out;
    });
    old.child.kill('SIGSTOP');
    fresh.startNow();
    const address = await fresh.address;
    // n1 placed for the new run (trigger `joined`); the tokens go through from its next one on.
    await n1.printed('"placementComputed"', runs + 1);
    release = true;
    await until(() => n9.view().entries['n2']?.address === address && ready(n9, 'n2'), 'n9 sees an instance on the new run of n2', 60_000);
    const out = await n9.submit('echo', input([8]), { deadline: Date.now() + 5000 });
    expect([serverOf(out), (out['x']!.data as Float32Array)[0]]).toEqual([3, 16]);
  }, 90_000); // a hang guard only
});
