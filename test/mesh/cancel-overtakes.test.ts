import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { input, ready, until } from './helpers.js';
import { FaultHarness } from './fault-harness.js';
import { MESH_TYPE, meshTypeOf } from './ws-frames.js';

/*
 * A cancel that overtakes its request on the wire, between real processes (each node behind its own frame-level
 * TCP proxy): n0 hosts nothing and forwards to n1; the proxy holds n0's request back until n0's cancel of it has
 * passed, then lets it through. n1 must not run it — its sender gave it up — and answers it ABORTED instead of with
 * a result nobody reads.
 */

const h = new FaultHarness();
afterEach(() => h.close());

describe('a cancel that overtakes its request', () => {
  it('the request arriving after its cancel is not run: it is answered ABORTED, and the link serves on', async () => {
    const n0 = await h.proxiedObserver();
    await h.proxiedPeer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 1 });
    await until(() => ready(n0, 'n1'), 'n0 sees the instance of n1', 30_000);

    let held: Buffer | undefined;
    let heldNow: () => void = () => undefined;
    const isHeld = new Promise<void>((resolve) => (heldNow = resolve));
    let answer: (type: number) => void = () => undefined;
    const answered = new Promise<number>((resolve) => (answer = resolve));
    let released = false;
    let cancelled = false;
    let via = '';
    h.frames((frame, link) => {
      const type = meshTypeOf(frame);
      if (link.from === 'n0' && link.to === 'n1') {
        if (type === MESH_TYPE.submit && held === undefined) return ((held = frame.raw), (via = link.via), heldNow(), []);
        // The cancel goes first, the request it cancels right after it (on its own link: with the cancel when that
        // took the same one, else with the next frame there, a sync message within a period).
        if (type === MESH_TYPE.cancel && held !== undefined && !released) return link.via === via ? ((released = true), [frame.raw, held]) : ((cancelled = true), [frame.raw]);
        if (cancelled && !released && link.via === via) return ((released = true), [frame.raw, held!]);
      }
      if (link.from === 'n1' && link.to === 'n0' && released && (type === MESH_TYPE.result || type === MESH_TYPE.error)) answer(type);
      return [frame.raw];
    });

    const controller = new AbortController();
    const submitted = n0.submit('echo', input([3]), { deadline: Date.now() + 30_000, signal: controller.signal }).catch((e: unknown) => e);
    await isHeld;
    controller.abort();
    const err = await submitted;
    expect(isEparaError(err) && err.code).toBe('ABORTED');
    // Before, n1 found nothing to cancel, then ran the request and sent its result back.
    expect(await answered).toBe(MESH_TYPE.error);
    h.frames(undefined);
    const out = await n0.submit('echo', input([5]), { deadline: Date.now() + 10_000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(10);
  }, 60_000); // a hang guard only
});
