import type { SimServer } from '../model/hardware.js';
import type { Scenario } from '../scenario/scenario.js';

/** How a run is simulated: one world per zone (`zones`, cluster indices each), or one world for the whole cluster and why. */
export type ShardPlan =
  | { readonly sharded: true; readonly zones: readonly (readonly number[])[] }
  | { readonly sharded: false; readonly reason: string };

/**
 * Whether a scenario's zones are independent, so that each zone is simulated in a world of its own (the same
 * simulation whether the zones then run one after the other or in worker threads). They are when:
 * - the system is EPARA (any ablation): each zone has its own ring, placement and forecaster series, and routing,
 *   offload and stream admission stay within the zone. The baselines route through one cluster-wide controller
 *   or replica set and always run as one world;
 * - the cluster has more than one zone;
 * - no failure is injected: the clients of a failed server fail over to the next server by index, which may be in
 *   the next zone;
 * - every trace row names its access server (a row without one is drawn from the cluster's origins in the run's
 *   shared random sequence).
 * Otherwise the run is one world over the whole cluster, as before zones could be sharded.
 */
export function shardPlanOf(scenario: Scenario, servers: readonly SimServer[]): ShardPlan {
  if (scenario.system.kind !== 'epara') return { sharded: false, reason: `system ${scenario.system.kind} routes through cluster-wide state` };
  const zones: number[][] = [];
  for (const s of servers) (zones[s.zone] ??= []).push(s.index);
  const present = zones.filter((z) => z !== undefined);
  if (present.length < 2) return { sharded: false, reason: 'one zone' };
  if ((scenario.failures ?? []).length > 0) return { sharded: false, reason: 'failures move clients across zones' };
  if ((scenario.workload.trace ?? []).some((r) => r.origin === undefined)) return { sharded: false, reason: 'trace rows without an origin draw it cluster-wide' };
  return { sharded: true, zones: present };
}
