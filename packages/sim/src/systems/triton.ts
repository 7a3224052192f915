import type { SimSystem } from '../world/system.js';
import type { SimInstance, SimRequest } from '../world/types.js';
import type { World } from '../world/world.js';
import { deployReplicas, groupReplicas, perItemSloMs } from './replica.js';
import { tritonStaticPlacement, type TritonReplica } from './triton-config.js';

/** Parameters of the Triton-per-site baseline. */
export interface TritonOptions {
  /** `max_queue_delay` of the dynamic batcher, ms (the experiments sweep 0, 1, 5, 10 and report the best). @default 0 */
  readonly maxQueueDelayMs: number;
  /** Time for the load balancer to stop sending to a failed server (readiness-probe period), ms. @default 2000 */
  readonly healthCheckMs: number;
}

/** Defaults of {@link TritonOptions}. */
export const DEFAULT_TRITON_OPTIONS: TritonOptions = { maxQueueDelayMs: 0, healthCheckMs: 2000 };

const EV_HEALTH = 40;

/**
 * Triton per site behind a Kubernetes-style load balancer, as an operator deploys it:
 * - placement is static, from the demand the operator measured over an early window (the world's
 *   early-window sample), bin-packed by memory ({@link tritonStaticPlacement}); models no single device holds
 *   run tensor/pipeline parallel over one server's devices;
 * - every server runs a Triton with one dynamic-batching queue per model over its instances (one per device):
 *   `max_batch_size` from the model-analyzer rule, `max_queue_delay` as configured, queue timeout = SLO with
 *   REJECT, FIFO;
 * - a request is served where it enters if the model is hosted there; otherwise the balancer forwards it one
 *   hop (paying the delay and the link) to a ready endpoint drawn uniformly at random, as kube-proxy's
 *   default does. Stream frames are plain requests.
 */
export function createTritonSystem(options: Partial<TritonOptions> = {}): SimSystem {
  const o: TritonOptions = { ...DEFAULT_TRITON_OPTIONS, ...options };
  let replicas: TritonReplica[] = [];
  let local: Array<Map<number, SimInstance>> = [];
  let hostsOf: number[][] = [];
  let healthy: boolean[] = [];
  let forwarded = 0;
  let world0: World | undefined;

  const usable = (s: number, k: number): boolean => {
    const inst = local[s]!.get(k);
    return healthy[s]! && inst !== undefined && inst.status === 'ready';
  };

  return {
    name: 'triton',
    start(world) {
      world0 = world;
      replicas = tritonStaticPlacement({ servers: world.servers, services: world.services, demand: world.earlyWindowDemand });
      local = world.servers.map(() => new Map());
      healthy = world.servers.map(() => true);
      for (const group of groupReplicas(replicas)) {
        const { service, server } = group[0]!;
        const svc = world.services[service]!;
        for (const inst of deployReplicas(world, group, { kind: 'triton', maxQueueDelayMs: o.maxQueueDelayMs, queueTimeoutMs: perItemSloMs(svc) }, true)) local[server]!.set(service, inst);
      }
      hostsOf = world.services.map((_, k) => world.servers.map((s) => s.index).filter((s) => local[s]!.has(k)));
    },
    onRequest(world, req, server) {
      const mine = local[server]!.get(req.service);
      if (mine !== undefined && (mine.status === 'ready' || (req.hops > 0 && mine.status !== 'gone'))) return world.enqueue(mine, req);
      if (req.hops > 0) return world.dropItem(req, 'NO_INSTANCE');
      pickAndForward(world, req, server);
    },
    onStreamStart() {},
    onStreamEnd() {},
    onEvent(_world, kind, a, ref) {
      if (kind === EV_HEALTH) healthy[a] = ref === true;
    },
    onFailure(world, server, device, recovered) {
      if (device !== null) return;
      // The balancer notices a dead or returning server after one readiness-probe period.
      world.schedule(world.clock.now() + o.healthCheckMs, EV_HEALTH, server, recovered);
      if (recovered) restart(world, server);
    },
    onInstanceChange() {},
    describe: () => ({ maxQueueDelayMs: o.maxQueueDelayMs, healthCheckMs: o.healthCheckMs, replicas: replicas.map((r) => `${world0?.services[r.service]!.spec.id}@${r.server}:${r.devices.join('+')}`), forwarded, placement: 'static, from the early-window forecast', queueTimeout: 'SLO (reject)' }),
  };

  function pickAndForward(world: World, req: SimRequest, server: number): void {
    let any = 0;
    for (const s of hostsOf[req.service]!) if (usable(s, req.service)) any++;
    if (any === 0) return world.dropItem(req, 'NO_INSTANCE');
    let pick = Math.floor(world.systemRandom.next() * any);
    for (const s of hostsOf[req.service]!) {
      if (!usable(s, req.service)) continue;
      if (pick-- === 0) {
        forwarded++;
        return world.forward(req, server, s);
      }
    }
  }

  function restart(world: World, server: number): void {
    for (const [service, old] of local[server]!) {
      const inst = world.createInstance({ service, server, devices: old.devices, plan: old.plan, policy: old.policy }, false);
      if (inst !== null) local[server]!.set(service, inst);
    }
  }
}
