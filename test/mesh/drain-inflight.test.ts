import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, input, serverOf, startCluster, until, untilReady } from './helpers.js';
import type { ClusterNode } from './helpers.js';

/*
 * A node drained while peers have requests offloaded to it (a rolling restart): n0 hosts nothing and forwards to
 * n1, the only host, which is drained with those requests running. They finish there and are answered; a request
 * sent to n1 while it drains is refused `CLOSED` at once and settles typed (no other server serves it), never
 * waiting out its deadline; every submit settles exactly once.
 */

let nodes: ClusterNode[] = [];
afterEach(() => closeAll(nodes));

describe('drain with requests offloaded to the draining node', () => {
  it('the requests peers forwarded finish there; new ones are refused at once; every submit settles once', async () => {
    nodes = await startCluster({ size: 2, kind: 'memory', hosted: [1], serviceTimeMs: 300 });
    const [n0, n1] = [nodes[0]!.node, nodes[1]!.node];
    await untilReady(n0, 'n1');
    let received = 0;
    n1.on('requestReceived', () => void (received += 1));
    let completed = 0;
    n0.on('requestCompleted', () => void (completed += 1));
    const settle = (v: number): Promise<number | string> =>
      n0.submit('echo', input([v]), { deadline: Date.now() + 20_000 }).then(
        (out) => ((out['x']!.data as Float32Array)[0] === 2 * v && serverOf(out) === 1 ? 'right' : 'wrong'),
        (err: { code?: string }) => err.code ?? 'untyped',
      );
    const inFlight = [1, 2, 3].map(settle);
    await until(() => received === 3, 'n1 received the three requests');
    const drained = n1.drain({ timeoutMs: 60_000 });
    expect(n1.draining).toBe(true);
    // Sent while n1 drains: refused there, and nobody else serves echo.
    const late = await settle(4);
    expect(late).toBe('PEER_UNAVAILABLE');
    // Before, n1 closed at once (it had no submit of its own pending) and answered CLOSED to the three, which n0
    // could retry nowhere: PEER_UNAVAILABLE for each.
    expect(await Promise.all(inFlight)).toEqual(['right', 'right', 'right']);
    await drained;
    expect(completed).toBe(4);
    expect(n0.stats().submitted).toBe(4);
  }, 60_000); // a hang guard only
});
