/**
 * `tsx bench/sim-slack.ts [mixed|latency|frequency] [--scales 2,3,8,10] [--seed N]` (after `pnpm build`): for the
 * quick E1 scenarios, how many of each service's items could still be served in time from each GPU server, given
 * how much of their deadline (or staleness limit) is left when they reach their access server. EPARA runs with its
 * deployed options and is only watched (its behaviour is unchanged): every item's slack at its first arrival
 * (`dueAt − now`) is recorded per service and access server; an item "fits" GPU server `g` when its payload's
 * uncontended transfer to `g`, the result's way back and twice the run time of the service's first placed GPU plan
 * (a wait for the running batch plus its own run: the plan's worst-case latency) fit that slack. This is what
 * decides which service should run on a contested GPU server (docs/placement.md, "What per item loses in the edge
 * world, traced"); placement's own reach test sees only the round trip against the whole SLO. Last line: JSON.
 */
import { edgeMix, simulate } from '../packages/sim/dist/index.js';

/** The parts of the simulator's world this script reads (the world type is internal to the simulator). */
interface WorldView {
  readonly clock: { now(): number };
  readonly services: readonly { readonly spec: { readonly id: string }; readonly payloadBytes: number; readonly responseBytes: number }[];
  readonly servers: readonly { readonly preset: { readonly deviceKind: string } }[];
  readonly instancesByServer: readonly (readonly { readonly service: number; readonly plan: { readonly runMs: number } }[])[];
  readonly network: { transferMs(from: number, to: number, bytes: number): number };
}
interface ItemView {
  readonly service: number;
  readonly dueAt: number;
}
type Wrapped = Record<string, unknown> & { start(world: unknown): void; onRequest(world: unknown, req: unknown, server: number): void };

const TESTBED = [{ preset: 'gpu-server', count: 4 }, { preset: 'jetson', count: 4 }, { preset: 'micro', count: 4 }];
const args = process.argv.slice(2);
const at = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const seed = Number(at('--seed') ?? 1);
const scales = (at('--scales') ?? '2,3,8,10').split(',').map(Number);
const kind = (args.find((a, i) => !a.startsWith('--') && !['--scales', '--seed'].includes(args[i - 1] ?? '')) ?? 'mixed') as 'mixed' | 'latency' | 'frequency';
const out: unknown[] = [];
for (const scale of scales) {
  const durationMs = 20_000;
  const slack = new Map<string, number[]>();
  const seen = new Set<unknown>();
  const worstMs = new Map<number, number>();
  let world: WorldView | undefined;
  simulate(
    { name: `slack-${kind}-x${scale}`, seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: edgeMix({ scale, kind, durationMs }), system: { kind: 'epara' } },
    {
      wrapSystem: (system) => {
        const inner = system as unknown as Wrapped;
        return {
          ...system,
          start(w: unknown) {
            inner.start(w);
            world = w as WorldView;
            // The initial placement (loaded before traffic): each service's first GPU plan, 2 × its run.
            world.instancesByServer.forEach((list, s) => {
              if (world!.servers[s]!.preset.deviceKind !== 'edge-gpu') return;
              for (const inst of list) if (!worstMs.has(inst.service)) worstMs.set(inst.service, 2 * inst.plan.runMs);
            });
          },
          onRequest(w: unknown, req: unknown, server: number) {
            if (!seen.has(req)) {
              seen.add(req);
              const item = req as ItemView;
              const key = `${item.service}|${server}`;
              const list = slack.get(key) ?? [];
              list.push(item.dueAt - (w as WorldView).clock.now());
              slack.set(key, list);
            }
            inner.onRequest(w, req, server);
          },
        } as typeof system;
      },
    },
  );
  const w = world!;
  const gpus = w.servers.map((s, i) => (s.preset.deviceKind === 'edge-gpu' ? i : -1)).filter((i) => i >= 0);
  const row: Record<string, unknown> = { kind, scale };
  for (const [k, svc] of w.services.entries()) {
    const need = worstMs.get(k);
    if (need === undefined) continue;
    const fit: Record<string, number> = {};
    let items = 0;
    for (const g of gpus) {
      let n = 0;
      items = 0;
      for (const [key, list] of slack) {
        const [service, access] = key.split('|').map(Number);
        if (service !== k) continue;
        const via = w.network.transferMs(access!, g, svc.payloadBytes) + w.network.transferMs(g, access!, svc.responseBytes) + need;
        for (const s of list) {
          items++;
          if (s >= via) n++;
        }
      }
      fit[`s${String(g).padStart(3, '0')}`] = n;
    }
    row[svc.spec.id] = { items, worstLatencyMs: Math.round(need * 10) / 10, fit };
    console.log(`${kind} x${scale} ${svc.spec.id}: ${items} items, 2 × run ${need.toFixed(1)} ms, fit ${Object.entries(fit).map(([g, n]) => `${g} ${n}`).join(', ')}`);
  }
  out.push(row);
}
console.log(JSON.stringify({ seed, rows: out }));
