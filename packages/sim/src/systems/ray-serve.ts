import type { SimSystem } from '../world/system.js';
import type { SimInstance, SimRequest } from '../world/types.js';
import type { World } from '../world/world.js';
import { deployReplicas, perItemSloMs } from './replica.js';
import { tritonStaticPlacement, type TritonReplica } from './triton-config.js';

/** Parameters of the Ray-Serve-like baseline (Ray Serve's defaults unless noted). */
export interface RayServeOptions {
  /** Server hosting the Serve controller. @default 0 */
  readonly controllerServer: number;
  /**
   * `target_ongoing_requests` per replica. Ray's default is 2; with `@serve.batch` its docs advise sizing it to
   * the batch, so the operator sets it to the replica's `max_batch_size`. @default 'batch'
   */
  readonly targetOngoingRequests: number | 'batch';
  /** `metrics_interval_s`: replicas push their ongoing-request averages this often, ms. @default 10000 */
  readonly metricsIntervalMs: number;
  /** `look_back_period_s`: the controller averages reports over this window, ms. @default 30000 */
  readonly lookBackMs: number;
  /** `upscale_delay_s`, ms. @default 30000 */
  readonly upscaleDelayMs: number;
  /** `downscale_delay_s`, ms. @default 600000 */
  readonly downscaleDelayMs: number;
  /** `batch_wait_timeout_s` of `@serve.batch`, ms. @default 10 */
  readonly batchWaitTimeoutMs: number;
}

/** Defaults of {@link RayServeOptions}. */
export const DEFAULT_RAY_SERVE_OPTIONS: RayServeOptions = { controllerServer: 0, targetOngoingRequests: 'batch', metricsIntervalMs: 10_000, lookBackMs: 30_000, upscaleDelayMs: 30_000, downscaleDelayMs: 600_000, batchWaitTimeoutMs: 10 };

const EV_SAMPLE = 50;
const EV_REPORT = 51;
const EV_CONTROL = 52;
const EV_PROBED = 53;

interface Deployment {
  replicas: SimInstance[];
  /** Reports received by the controller: (time, mean ongoing requests summed over replicas). */
  reports: Array<{ at: number; ongoing: number }>;
  /** Since when the desired count has been above (or below) the current one, or -1. */
  upSince: number;
  downSince: number;
  template: TritonReplica | undefined;
  /** Replicas the controller keeps running (replaced when one is lost). */
  targetCount: number;
}

/**
 * Ray-Serve-like serving. Each service is a deployment; initial replicas from the early-window forecast
 * (`initial_replicas`), placed by memory; a controller at one site autoscales each deployment with Ray
 * Serve's default policy: desired = ⌈Σ ongoing / target_ongoing_requests⌉ from replica metrics averaged over
 * the look-back window (pushed every `metrics_interval_s`, arriving after the network delay), applied only
 * after it persisted for the upscale/downscale delay; new replicas load (model load time) on a device with
 * room. A proxy on every server routes with power of two choices: two random replicas, their queue lengths
 * probed (one round trip to the farther one), the shorter wins. Replicas batch with `@serve.batch`
 * (`max_batch_size` from the model-analyzer rule, `batch_wait_timeout_s`); a request times out at its SLO.
 * While the controller's server is down there is no controller: no autoscaling, no restart of lost replicas, and
 * the metrics pushed meanwhile are lost; each proxy keeps routing on the replica set it last heard from the
 * controller (as Ray Serve's handles do), dropping a replica only once a probe finds it gone. The controller comes
 * back with its server, its targets restored (Ray keeps them in the GCS) and its metrics window empty.
 */
export function createRayServeSystem(options: Partial<RayServeOptions> = {}): SimSystem {
  const o: RayServeOptions = { ...DEFAULT_RAY_SERVE_OPTIONS, ...options };
  let deployments: Deployment[] = [];
  let ongoingSum: Float64Array = new Float64Array(0);
  let samples = 0;
  let scaleUps = 0;
  let scaleDowns = 0;
  let probes = 0;

  const ongoing = (inst: SimInstance): number => inst.queue.size + inst.running * inst.plan.batchSize;
  const ready = (d: Deployment): SimInstance[] => d.replicas.filter((r) => r.status === 'ready');
  /** The ready replicas of each deployment when the controller went down, or null while it is up. */
  let lastBroadcast: SimInstance[][] | null = null;
  /** Per proxy (`server × deployments + deployment`), what it routes to while the controller is down. */
  const proxyViews = new Map<number, SimInstance[]>();

  /** The replicas the proxy at `server` routes among: the controller's live set, or its last one while it is down. */
  function replicasSeenBy(world: World, server: number, k: number): SimInstance[] {
    if (lastBroadcast === null) return ready(deployments[k]!);
    const key = server * world.services.length + k;
    let view = proxyViews.get(key);
    if (view === undefined) proxyViews.set(key, (view = lastBroadcast[k]!.slice()));
    return view;
  }

  /** A probe found `inst` gone: the proxy at `server` stops routing to it (nothing to do while the controller is up). */
  function forget(world: World, server: number, inst: SimInstance): void {
    if (lastBroadcast === null) return;
    const view = replicasSeenBy(world, server, inst.service);
    const i = view.indexOf(inst);
    if (i >= 0) view.splice(i, 1);
  }

  function addReplica(world: World, k: number): boolean {
    const d = deployments[k]!;
    const svc = world.services[k]!;
    // Ray's scheduler puts the replica on a node with a free GPU share: reuse the operator placement rule
    // on what is free now (one more replica's worth of demand).
    const unavailable = new Set<string>();
    world.devices.forEach((dev) => {
      if (!dev.healthy || !world.serverAlive[dev.server] || world.memoryUsed(dev) > 0) unavailable.add(`${dev.server}:${dev.local}`);
    });
    const demand = world.services.map((_, j) => world.servers.map(() => (j === k ? 1e-6 : 0)));
    let plan = tritonStaticPlacement({ servers: world.servers, services: world.services, demand, unavailable }).filter((r) => r.service === k).slice(0, 1);
    if (plan.length === 0 && d.template !== undefined && d.template.stages === 1) {
      // No empty device: share one that has memory left (fractional num_gpus).
      const t = d.template;
      const dev = world.devices.find((x) => x.healthy && world.serverAlive[x.server] && x.kind === world.devicesByServer[t.server]![t.device]!.kind && world.memoryUsed(x) + t.memoryPerDeviceBytes <= x.memoryBytes * 0.9 && !x.instances.some((i) => i.service === k));
      if (dev !== undefined) plan = [{ ...t, server: dev.server, device: dev.local, devices: [dev.local] }];
    }
    if (plan.length === 0) return false;
    const made = deployReplicas(world, plan, policyOf(svc), false);
    d.replicas.push(...made);
    return made.length > 0;
  }

  function policyOf(svc: World['services'][number]): SimInstance['policy'] {
    return { kind: 'triton', maxQueueDelayMs: o.batchWaitTimeoutMs, queueTimeoutMs: perItemSloMs(svc) };
  }

  function control(world: World): void {
    const now = world.clock.now();
    world.schedule(now + 1000, EV_CONTROL, 0);
    if (!world.serverAlive[o.controllerServer]) return;
    deployments.forEach((d, k) => {
      d.reports = d.reports.filter((r) => r.at > now - o.lookBackMs);
      d.replicas = d.replicas.filter((r) => r.status !== 'gone');
      // Lost replicas (failures) are restarted to keep the target count.
      while (d.replicas.filter((r) => r.status !== 'draining').length < d.targetCount && addReplica(world, k)) scaleUps++;
      const seen = d.reports.filter((r) => r.at <= now);
      if (seen.length === 0 || d.replicas.length === 0) return;
      const avg = seen.reduce((a, r) => a + r.ongoing, 0) / seen.length;
      const target = o.targetOngoingRequests === 'batch' ? d.replicas[0]!.plan.batchSize : o.targetOngoingRequests;
      const desired = Math.max(1, Math.ceil(avg / target));
      const current = d.replicas.filter((r) => r.status !== 'draining').length;
      if (desired > current) {
        d.downSince = -1;
        if (d.upSince < 0) d.upSince = now;
        if (now - d.upSince >= o.upscaleDelayMs) {
          for (let i = current; i < desired; i++) if (addReplica(world, k)) scaleUps++;
          d.targetCount = desired;
          d.upSince = -1;
        }
      } else if (desired < current) {
        d.upSince = -1;
        if (d.downSince < 0) d.downSince = now;
        if (now - d.downSince >= o.downscaleDelayMs) {
          const victims = d.replicas.filter((r) => r.status !== 'draining').slice(desired);
          for (const v of victims) world.drainInstance(v);
          scaleDowns += victims.length;
          d.targetCount = desired;
          d.downSince = -1;
        }
      } else d.upSince = d.downSince = -1;
    });
  }

  function route(world: World, req: SimRequest, server: number): void {
    const reps = replicasSeenBy(world, server, req.service);
    if (reps.length === 0) return world.dropItem(req, 'NO_INSTANCE');
    const rnd = world.systemRandom;
    const a = reps[Math.floor(rnd.next() * reps.length)]!;
    let b = reps[Math.floor(rnd.next() * reps.length)]!;
    if (reps.length > 1) while (b === a) b = reps[Math.floor(rnd.next() * reps.length)]!;
    // Probing the two replicas' queue lengths costs a round trip to the farther one (in parallel).
    const rtt = 2 * Math.max(world.network.delayMs(server, a.server), world.network.delayMs(server, b.server));
    probes++;
    if (rtt <= 0) return send(world, req, server, ongoing(a) <= ongoing(b) ? a : b);
    world.schedule(world.clock.now() + rtt, EV_PROBED, server, { req, a, b });
  }

  function send(world: World, req: SimRequest, server: number, inst: SimInstance): void {
    if (inst.server === server) return world.enqueue(inst, req);
    pendingTarget.set(req, inst);
    world.forward(req, server, inst.server);
  }

  const pendingTarget = new Map<SimRequest, SimInstance>();

  return {
    name: 'ray-serve',
    start(world) {
      const plan = tritonStaticPlacement({ servers: world.servers, services: world.services, demand: world.earlyWindowDemand });
      deployments = world.services.map(() => ({ replicas: [], reports: [], upSince: -1, downSince: -1, template: undefined, targetCount: 0 }));
      ongoingSum = new Float64Array(world.services.length);
      for (const r of plan) {
        const d = deployments[r.service]!;
        d.template ??= r;
        d.replicas.push(...deployReplicas(world, [r], policyOf(world.services[r.service]!), true));
      }
      for (const d of deployments) d.targetCount = d.replicas.length;
      world.schedule(1000, EV_SAMPLE, 0);
      world.schedule(o.metricsIntervalMs, EV_REPORT, 0);
      world.schedule(1000, EV_CONTROL, 0);
    },
    onRequest(world, req, server) {
      const t = pendingTarget.get(req);
      if (t !== undefined) {
        pendingTarget.delete(req);
        if (t.status === 'ready' || t.status === 'draining') return world.enqueue(t, req);
        return world.dropItem(req, 'WORKER_CRASHED');
      }
      route(world, req, server);
    },
    onStreamStart() {},
    onStreamEnd() {},
    onEvent(world, kind, a, ref) {
      if (kind === EV_PROBED) {
        const p = ref as { req: SimRequest; a: SimInstance; b: SimInstance };
        const alive = [p.a, p.b].filter((x) => x.status === 'ready');
        for (const x of [p.a, p.b]) if (x.status === 'gone') forget(world, a, x);
        if (alive.length === 0) return route(world, p.req, a);
        return send(world, p.req, a, alive.length === 1 ? alive[0]! : ongoing(p.a) <= ongoing(p.b) ? p.a : p.b);
      }
      if (kind === EV_SAMPLE) {
        deployments.forEach((d, k) => (ongoingSum[k]! += d.replicas.reduce((s, r) => s + (r.status === 'ready' ? ongoing(r) : 0), 0)));
        samples++;
        return world.schedule(world.clock.now() + 1000, EV_SAMPLE, 0);
      }
      if (kind === EV_REPORT) {
        const now = world.clock.now();
        // Replicas push to the controller: with its server down, the pushes are lost.
        const up = world.serverAlive[o.controllerServer];
        deployments.forEach((d, k) => {
          // A deployment's metrics are complete once the farthest replica's push reached the controller.
          let lag = 0;
          for (const r of d.replicas) lag = Math.max(lag, world.network.delayMs(r.server, o.controllerServer));
          if (up) d.reports.push({ at: now + lag, ongoing: samples === 0 ? 0 : ongoingSum[k]! / samples });
          ongoingSum[k] = 0;
        });
        samples = 0;
        return world.schedule(now + o.metricsIntervalMs, EV_REPORT, 0);
      }
      if (kind === EV_CONTROL) return control(world);
    },
    onFailure(_world, server, device, recovered) {
      if (server !== o.controllerServer || device !== null) return;
      if (!recovered) {
        lastBroadcast = deployments.map(ready);
        return;
      }
      // Back with its server: targets from the GCS, no metrics, no pending scaling decision.
      lastBroadcast = null;
      proxyViews.clear();
      for (const d of deployments) {
        d.reports = [];
        d.upSince = d.downSince = -1;
      }
    },
    onInstanceChange() {},
    describe: () => ({ options: o, scaleUps, scaleDowns, probes, replicas: deployments.map((d) => d.replicas.filter((r) => r.status !== 'gone').length) }),
  };
}
