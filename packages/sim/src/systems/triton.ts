import { latencyAt } from '@epara/core';
import { asLatencyService } from '../model/services.js';
import type { SimSystem } from '../world/system.js';
import type { SimInstance } from '../world/types.js';
import type { World } from '../world/world.js';
import { tritonStaticPlacement, type TritonReplica } from './triton-config.js';

/** Parameters of the Triton-like baseline (DESIGN.md §4). */
export interface TritonOptions {
  /** `max_queue_delay` of the dynamic batcher, ms (the experiments sweep 0, 1, 5, 10 and report the best). @default 0 */
  readonly maxQueueDelayMs: number;
  /**
   * Time for the client-side load balancer to stop sending to a failed server (health-check period), ms.
   * @default 2000
   */
  readonly healthCheckMs: number;
}

/** Defaults of {@link TritonOptions}. */
export const DEFAULT_TRITON_OPTIONS: TritonOptions = { maxQueueDelayMs: 0, healthCheckMs: 2000 };

const EV_HEALTH = 40;

/**
 * Triton-like serving: on every server, one dynamic-batching queue per model shared by its instances (one per
 * device, Triton's `instance_group`); `max_batch_size` is the largest batch whose latency fits the SLO (the
 * model analyzer's pick), `max_queue_delay` as configured, queue timeout = SLO with REJECT, FIFO. Placement
 * is static (replicas proportional to average demand, bin-packed by memory). No offloading between servers:
 * a static load balancer in front of the Triton servers (as a Kubernetes service or Envoy would) spreads each
 * model's requests over its replicas by smooth weighted round-robin, weights = replica capacity; a request
 * lands on one server and is never forwarded again. Stream frames are plain requests.
 */
export function createTritonSystem(options: Partial<TritonOptions> = {}): SimSystem {
  const o: TritonOptions = { ...DEFAULT_TRITON_OPTIONS, ...options };
  let replicas: TritonReplica[] = [];
  let local: Array<Map<number, SimInstance>> = [];
  let hostsOf: number[][] = [];
  let credit: number[][] = [];
  let healthy: boolean[] = [];

  return {
    name: 'triton',
    start(world) {
      const demand = world.services.map((_, k) => world.servers.map((s) => world.expectedDemand[k]![s.index]!));
      replicas = tritonStaticPlacement({ servers: world.servers, services: world.services, demand });
      local = world.servers.map(() => new Map());
      healthy = world.servers.map(() => true);
      const byKey = new Map<string, TritonReplica[]>();
      for (const r of replicas) {
        const key = `${r.service}@${r.server}`;
        byKey.set(key, [...(byKey.get(key) ?? []), r]);
      }
      for (const group of byKey.values()) {
        const { service, server, maxBatch } = group[0]!;
        const svc = asLatencyService(world.services[service]!);
        const devices = group.map((r) => world.devicesByServer[server]![r.device]!);
        const runMs = latencyAt(svc.spec.profiles[devices[0]!.kind]!, maxBatch);
        const deadline = svc.spec.slo.kind === 'latency' ? svc.spec.slo.deadlineMs : 0;
        const inst = world.createInstance(
          {
            service, server, devices,
            plan: { requestStrategy: 'batching', serviceStrategy: devices.length > 1 ? 'data-parallel' : 'single', batchSize: maxBatch, capacityPerSec: (devices.length * maxBatch * 1000) / runMs, memoryPerDeviceBytes: svc.spec.memory.weightsBytes + svc.spec.memory.perItemBytes * maxBatch, runMs, stages: 1 },
            policy: { kind: 'triton', maxQueueDelayMs: o.maxQueueDelayMs, queueTimeoutMs: deadline },
          },
          true,
        );
        local[server]!.set(service, inst);
      }
      hostsOf = world.services.map((_, k) => world.servers.map((s) => s.index).filter((s) => local[s]!.has(k)));
      credit = world.services.map(() => world.servers.map(() => 0));
    },
    onRequest(world, req, server) {
      if (req.hops > 0) {
        const mine = local[server]!.get(req.service);
        if (mine !== undefined && mine.status !== 'gone') return world.enqueue(mine, req);
        return world.dropItem(req, 'NO_INSTANCE');
      }
      // Static smooth weighted round-robin over the healthy replicas, weighted by their capacity.
      const hosts = hostsOf[req.service]!.filter((s) => healthy[s] && local[s]!.get(req.service)?.status !== 'gone');
      if (hosts.length === 0) return world.dropItem(req, 'NO_INSTANCE');
      let total = 0;
      let pick = hosts[0]!;
      for (const s of hosts) {
        const w = local[s]!.get(req.service)!.plan.capacityPerSec;
        credit[req.service]![s]! += w;
        total += w;
        if (credit[req.service]![s]! > credit[req.service]![pick]!) pick = s;
      }
      credit[req.service]![pick]! -= total;
      if (pick === server) return world.enqueue(local[server]!.get(req.service)!, req);
      world.forward(req, server, pick);
    },
    onStreamStart() {},
    onStreamEnd() {},
    onEvent(_world, kind, a, ref) {
      if (kind === EV_HEALTH) healthy[a] = ref === true;
    },
    onFailure(world, server, device, recovered) {
      if (device !== null) return;
      // The load balancer notices a dead or returning server after one health-check period.
      world.schedule(world.clock.now() + o.healthCheckMs, EV_HEALTH, server, recovered);
      // Static placement: the operator's deployment restarts the same models on a returning server.
      if (recovered) restart(world, server);
    },
    onInstanceChange() {},
    describe: () => ({ maxQueueDelayMs: o.maxQueueDelayMs, healthCheckMs: o.healthCheckMs, replicas: replicas.length, queueTimeout: 'SLO (reject)' }),
  };

  function restart(world: World, server: number): void {
    for (const [service, old] of local[server]!) {
      const inst = world.createInstance({ service, server, devices: old.devices, plan: old.plan, policy: old.policy }, false);
      local[server]!.set(service, inst);
    }
  }
}
