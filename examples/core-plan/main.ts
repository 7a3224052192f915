/**
 * Plans a realistic 5-server edge cloud with @epara/core: each service's category and ranked plans, the
 * placement with its predicted goodput, and a few request-routing and stream-admission decisions.
 * Run with `pnpm tsx examples/core-plan/main.ts` from the repository root.
 */
import { pathToFileURL } from 'node:url';
import {
  admitStream,
  allocate,
  deviceKindsOf,
  placeServices,
  routeRequest,
  totalDemandRate,
  type Allocation,
  type ClusterView,
  type PlacementResult,
  type RouteDecision,
  type StreamDecision,
} from '@epara/core';
import { DELAYS_MS, DEMAND, DEVICE_KINDS, SERVERS, SERVICES } from './cluster.js';
import { gb, num, table } from './format.js';
import { viewFromPlacement } from './view-from-placement.js';

/** One routing decision of the walk-through. */
export interface RoutingCase {
  readonly title: string;
  readonly at: string;
  readonly decision: RouteDecision | StreamDecision;
}

/** What the example computed (returned so tests can check it). */
export interface CorePlanResult {
  readonly allocations: Readonly<Record<string, Allocation>>;
  readonly placement: PlacementResult;
  readonly view: ClusterView;
  readonly routing: readonly RoutingCase[];
}

/** Runs the example; `log` receives every printed line (default: the console). */
export function main(options: { log?: (line: string) => void } = {}): CorePlanResult {
  const log = options.log ?? ((line: string) => console.log(line));
  const deviceKinds = deviceKindsOf(SERVERS);
  log(`Edge cloud: ${SERVERS.length} servers — ${SERVERS.map((s) => `${s.id} [${s.devices.map((d) => d.kind).join(', ')}]`).join('; ')}`);
  log(`Device kinds: ${deviceKinds.map((k) => DEVICE_KINDS[k.kind]?.label ?? k.kind).join(' | ')}`);
  const allocations: Record<string, Allocation> = {};
  for (const service of SERVICES) {
    const demand = DEMAND.find((d) => d.serviceId === service.id)!;
    const a = allocate({ service, demand, deviceKinds });
    allocations[service.id] = a;
    printAllocation(log, service.id, totalDemandRate(demand), a);
  }
  const plans = Object.fromEntries(Object.entries(allocations).map(([id, a]) => [id, a.plans]));
  const placement = placeServices({ servers: SERVERS, services: SERVICES, plans, demand: DEMAND, delaysMs: DELAYS_MS });
  printPlacement(log, placement);
  const now = 10_000;
  // Right now 10 of the 12 expected video streams are active; an 11th will ask to be admitted below.
  const activeDemand = DEMAND.map((d) => (d.serviceId === 'video-seg' ? { ...d, streams: d.streams?.slice(0, 10) } : d));
  const view = viewFromPlacement(placement.instances, activeDemand, now);
  const routing = routingWalkthrough(view, now);
  log('');
  log('Routing decisions (routeRequest / admitStream) on the view the servers would report:');
  for (const c of routing) log(`  - ${c.title} at ${c.at}: ${describe(c.decision)}`);
  return { allocations, placement, view, routing };
}

function printAllocation(log: (line: string) => void, id: string, demand: number, a: Allocation): void {
  const cat = `${a.category.sensitivity} / ${a.category.devices}${a.category.reason === undefined ? '' : ` (${a.category.reason}-bound)`}`;
  log('');
  log(`${id}: ${cat}; demand ${num(demand)}/s; needs ${gb(a.classification.memoryNeedBytes)} at batch 1`);
  const rows = a.plans.map((p, i) => [
    String(i + 1), p.deviceKind, `${p.requestStrategy} × ${p.serviceStrategy}`, String(p.devices), String(p.batchSize),
    num(p.capacityPerSec), num(p.expectedLatencyMs), gb(p.memoryPerDeviceBytes), num(p.goodputPerDevice), `${Math.round(p.utilization * 100)}%`,
  ]);
  for (const line of table(['#', 'device', 'strategy', 'devs', 'batch', 'cap/s', 'worst ms', 'mem/dev', 'goodput/dev', 'util'], rows)) log(`  ${line}`);
  for (const x of a.infeasible) log(`  ruled out: ${x.deviceKind} ${x.strategy} — ${x.reason}`);
}

function printPlacement(log: (line: string) => void, placement: PlacementResult): void {
  log('');
  log(`Placement: predicted goodput ${num(placement.goodputPerSec)} items/s (${placement.guarantee.statement})`);
  const rows = placement.instances.map((i) => [i.serverId, i.deviceIds.join('+'), i.serviceId, `${i.plan.requestStrategy} × ${i.plan.serviceStrategy}`, String(i.plan.batchSize), num(i.capacityPerSec ?? i.plan.capacityPerSec)]);
  for (const line of table(['server', 'devices', 'service', 'strategy', 'batch', 'cap/s'], rows)) log(`  ${line}`);
  const rows2 = placement.services.map((s) => [s.serviceId, num(s.demandPerSec), num(s.capacityPerSec), num(s.servedPerSec), `${Math.round((100 * s.servedPerSec) / Math.max(s.demandPerSec, 1e-9))}%`]);
  for (const line of table(['service', 'demand/s', 'capacity/s', 'served/s', 'served'], rows2)) log(`  ${line}`);
}

function routingWalkthrough(view: ClusterView, now: number): RoutingCase[] {
  const hosts = (serviceId: string): string[] => Object.values(view.entries).filter((e) => e.instances.some((i) => i.serviceId === serviceId)).map((e) => e.serverId);
  const nonHost = (serviceId: string): string => SERVERS.map((s) => s.id).find((id) => !hosts(serviceId).includes(id)) ?? SERVERS[0]!.id;
  const localEstimate = (self: string, serviceId: string): { completionAt: number; ready: boolean } | undefined => {
    const inst = view.entries[self]?.instances.find((i) => i.serviceId === serviceId);
    return inst === undefined ? undefined : { completionAt: now + inst.waitMs + inst.runMs, ready: true };
  };
  const network = (self: string): { delayMs: Readonly<Record<string, number>> } => ({ delayMs: DELAYS_MS[self] ?? {} });
  const route = (title: string, self: string, serviceId: string, deadlineMs: number, extra: { hops?: number; local?: { completionAt: number; ready: boolean } } = {}): RoutingCase => ({
    title, at: self,
    decision: routeRequest({
      request: { serviceId, deadline: now + deadlineMs, hops: extra.hops ?? 0, visited: [], payloadBytes: 600_000 },
      local: extra.local ?? localEstimate(self, serviceId), view, self, now, network: network(self),
    }),
  });
  const segHost = hosts('image-seg')[0] ?? 'edge-a';
  // a service hosted on several servers, to show the hop limit
  const multi = SERVICES.map((s) => s.id).find((id) => hosts(id).length >= 2) ?? 'image-seg';
  return [
    route('image-seg, 150 ms, on a server that hosts it', segHost, 'image-seg', 150),
    route('image-seg, 150 ms, on a server without an instance', nonHost('image-seg'), 'image-seg', 150),
    route('image-seg, only 6 ms left', nonHost('image-seg'), 'image-seg', 6),
    route(`${multi}, local queue too long, already forwarded twice`, hosts(multi)[0] ?? 'edge-a', multi, 200, { hops: 2, local: { completionAt: now + 400, ready: true } }),
    route('llm-chat, 6 s, on a server without the model', nonHost('llm-chat'), 'llm-chat', 6000),
    { title: 'an 11th video-seg stream, 30 fps', at: 'edge-e', decision: admitStream({ stream: { serviceId: 'video-seg', rateHz: 30, stalenessMs: 200, frameBytes: 600_000 }, localInstances: view.entries['edge-e']?.instances ?? [], view, self: 'edge-e', now, network: network('edge-e') }) },
  ];
}

function describe(d: RouteDecision | StreamDecision): string {
  if (d.action === 'reject') return `reject ${d.code} (${d.reason})`;
  if (d.action === 'local') return 'estimateAt' in d ? `queue locally, done in ${num(d.estimateAt - 10_000)} ms` : `pin locally to ${d.instanceId}`;
  if ('estimateAt' in d) return `forward to ${d.serverId}, estimated done in ${num(d.estimateAt - 10_000)} ms (${d.candidates.length} feasible peers)`;
  return `pin to ${d.serverId}/${d.instanceId} (round trip ${num(d.candidates[0]?.roundTripMs ?? 0)} ms)`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
