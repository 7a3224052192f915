import type { DeviceId, InstanceInfo, ParallelPlan, PlacedInstance, ServerSpec, ServiceId } from '@epara/core';

/** Devices already claimed on one server while the current placement is assembled. */
export interface DeviceClaims {
  /** Services on each device (one instance per service per device). */
  readonly services: Map<DeviceId, Set<ServiceId>>;
  /** Devices held by a multi-device (exclusive) instance. */
  readonly exclusive: Set<DeviceId>;
}

/** Empty claims for one server. */
export function createDeviceClaims(): DeviceClaims {
  return { services: new Map(), exclusive: new Set() };
}

/** Records that `inst` occupies its devices. */
export function claimDevices(claims: DeviceClaims, inst: Pick<PlacedInstance, 'serviceId' | 'deviceIds' | 'plan'>): void {
  for (const d of inst.deviceIds) {
    const set = claims.services.get(d) ?? new Set<ServiceId>();
    set.add(inst.serviceId);
    claims.services.set(d, set);
    if (inst.deviceIds.length > 1 || inst.plan.serviceStrategy !== 'single') claims.exclusive.add(d);
  }
}

/**
 * Adopts an instance the host loaded on its own. With `reported` device ids (from the executor, via the
 * server's device report) the instance is adopted on exactly those devices — co-located instances included —
 * with a plan of that kind and device count. Without them, devices are inferred: a single-device instance
 * goes to the matching device with the fewest services that does not hold this service yet (co-location is
 * allowed, as multi-task placement does it), a multi-device one to devices nothing else holds.
 * `undefined` when no plan or device matches (the instance then stays unmanaged).
 */
export function adoptInstance(
  inst: InstanceInfo,
  server: ServerSpec,
  reported: readonly DeviceId[] | undefined,
  ctx: { readonly plans: readonly ParallelPlan[]; readonly claims: DeviceClaims },
): PlacedInstance | undefined {
  const onServer = reported?.map((id) => server.devices.find((d) => d.id === id));
  const known = onServer !== undefined && onServer.length > 0 && onServer.every((d) => d !== undefined) && new Set(reported).size === onServer.length;
  if (known) {
    const kind = onServer[0]!.kind;
    if (onServer.some((d) => d!.kind !== kind)) return undefined;
    const plan = choosePlan(ctx.plans.filter((p) => p.deviceKind === kind && p.devices === onServer.length), inst);
    return plan ? placed(inst, server, plan, reported!) : undefined;
  }
  const kinds = new Set(server.devices.map((d) => d.kind));
  const fitting = ctx.plans.filter((p) => kinds.has(p.deviceKind));
  const plan = choosePlan(fitting.filter((p) => p.serviceStrategy === inst.serviceStrategy), inst) ?? choosePlan(fitting.filter((p) => p.devices === 1), inst);
  if (!plan) return undefined;
  const deviceIds = inferDevices(inst.serviceId, plan, server, ctx.claims);
  return deviceIds ? placed(inst, server, plan, deviceIds) : undefined;
}

/** A plan matching the instance's batch size and strategy if one exists, else the allocator's best. */
function choosePlan(plans: readonly ParallelPlan[], inst: InstanceInfo): ParallelPlan | undefined {
  return (
    plans.find((p) => p.batchSize === inst.batchSize && p.serviceStrategy === inst.serviceStrategy) ??
    plans.find((p) => p.batchSize === inst.batchSize) ??
    plans.find((p) => p.serviceStrategy === inst.serviceStrategy) ??
    plans[0]
  );
}

function inferDevices(serviceId: ServiceId, plan: ParallelPlan, server: ServerSpec, claims: DeviceClaims): DeviceId[] | undefined {
  const count = (id: DeviceId): number => claims.services.get(id)?.size ?? 0;
  const usable = server.devices.filter((d) => d.kind === plan.deviceKind && d.healthy !== false && !claims.exclusive.has(d.id) && !claims.services.get(d.id)?.has(serviceId));
  const pool = plan.devices === 1 && plan.serviceStrategy === 'single' ? usable : usable.filter((d) => count(d.id) === 0);
  if (pool.length < plan.devices) return undefined;
  return [...pool].sort((a, b) => count(a.id) - count(b.id)).slice(0, plan.devices).map((d) => d.id);
}

function placed(inst: InstanceInfo, server: ServerSpec, plan: ParallelPlan, deviceIds: readonly DeviceId[]): PlacedInstance {
  const share = inst.capacityPerSec > 0 ? Math.min(inst.capacityPerSec, plan.capacityPerSec) : plan.capacityPerSec;
  return { instanceId: inst.instanceId, serviceId: inst.serviceId, plan, serverId: server.id, deviceIds: [...deviceIds], capacityPerSec: share };
}
