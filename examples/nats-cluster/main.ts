import type { NamedTensors } from '@epara/core';
import { aliveIn, startEdgeServer, stopEdgeServer } from './cluster.js';
import type { EdgeServer } from './cluster.js';

/** What the demo measured, for its test. */
export interface DemoResult {
  /** Alive servers in edge-0's view (fed from the KV bucket). */
  readonly members: string[];
  /** Which server answered each request submitted on edge-0 (`node.submit`: `routeRequest` decides to offload, the queue group picks). */
  readonly viaNode: Record<string, number>;
  /** Which server answered each request sent straight to the `detect` queue group (`offloader.forward`). */
  readonly viaQueueGroup: Record<string, number>;
  /** Alive servers in edge-0's view after edge-4 crashed. */
  readonly afterCrash: string[];
  /** Requests that still succeeded after the crash (of `requests`). */
  readonly okAfterCrash: number;
}

export interface DemoOptions {
  readonly servers: string;
  readonly requests?: number;
  readonly log?: (line: string) => void;
}

const image = (i: number): NamedTensors => ({ x: { type: 'float32', dims: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32).fill(i) } });
const serverOf = (out: NamedTensors): string => `edge-${(out['server']!.data as Int32Array)[0]}`;

const tally = (names: string[]): Record<string, number> => names.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});

/** Starts 5 edge servers on one NATS, offloads both ways, crashes one, and reports what happened. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? console.log;
  const requests = options.requests ?? 40;
  const config = { servers: options.servers, psk: 'demo-psk-please-change-me', namespace: `demo${Date.now().toString(36)}`, hosts: [2, 3, 4] };
  const cluster: EdgeServer[] = [];
  try {
    for (let i = 0; i < 5; i++) cluster.push(await startEdgeServer(i, config));
    await Promise.all(cluster.map((s) => s.node.whenView((v) => aliveIn(v).length === 5, { timeoutMs: 10_000 })));
    const edge0 = cluster[0]!;
    const members = aliveIn(edge0.node.view());
    log(`5 servers up on ${options.servers}; edge-0's view (from KV): ${members.join(' ')}`);

    const deadline = (): number => Date.now() + 2000;
    const viaNode = await Promise.all(Array.from({ length: requests }, (_, i) => edge0.node.submit('detect', image(i), { deadline: deadline() })));
    log(`edge-0 hosts nothing: node.submit offloaded ${requests} requests through the 'detect' queue group → ${JSON.stringify(tally(viaNode.map(serverOf)))}`);
    const viaQueue = await Promise.all(Array.from({ length: requests }, (_, i) => edge0.offloader.forward('detect', image(i), { deadline: deadline() })));
    log(`straight to the queue group (offloader.forward) → ${JSON.stringify(tally(viaQueue.map(serverOf)))}`);

    const victim = cluster[4]!;
    await victim.nc.close(); // a crash: no goodbye on any channel
    await edge0.node.whenView((v) => !aliveIn(v).includes('edge-4'), { timeoutMs: 10_000 });
    const afterCrash = aliveIn(edge0.node.view());
    log(`edge-4 crashed; edge-0's view now: ${afterCrash.join(' ')}`);
    const after = await Promise.allSettled(Array.from({ length: requests }, (_, i) => edge0.node.submit('detect', image(i), { deadline: deadline() })));
    const okAfterCrash = after.filter((r) => r.status === 'fulfilled').length;
    log(`after the crash: ${okAfterCrash}/${requests} submits succeeded (served by edge-2 and edge-3)`);
    return { members, viaNode: tally(viaNode.map(serverOf)), viaQueueGroup: tally(viaQueue.map(serverOf)), afterCrash, okAfterCrash };
  } finally {
    await Promise.all(cluster.map((s) => stopEdgeServer(s).catch(() => undefined)));
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const servers = process.env['EPARA_NATS_URL'] ?? process.argv[2] ?? 'nats://127.0.0.1:4222';
  runDemo({ servers }).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
