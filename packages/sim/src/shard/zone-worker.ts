/**
 * The worker thread of `simulateInParallel`: builds the run's shared context once from the scenario in its
 * `workerData`, then simulates each zone the main thread sends (`{ zone }`) and posts its partial back
 * (`{ zone, partial }`); a failure is posted as `{ zone, error }`. The main thread terminates it when the run ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isEparaError } from '@epara/core';
import { buildServers } from '../model/hardware.js';
import type { Scenario } from '../scenario/scenario.js';
import { createSystem } from '../simulate.js';
import { shardPlanOf } from './shard-plan.js';
import { prepareShards, runZone, type ShardContext } from './zone-run.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

const port = parentPort!;
const scenario = (workerData as { scenario: Scenario }).scenario;
let ctx: ShardContext | null = null;

function context(): ShardContext {
  if (ctx !== null) return ctx;
  const servers = buildServers(scenario.cluster.groups, scenario.cluster.zoneSize ?? 50);
  const plan = shardPlanOf(scenario, servers);
  if (!plan.sharded) throw new Error(`zone worker given a scenario that is not sharded (${plan.reason})`);
  ctx = prepareShards(scenario, servers, plan.zones);
  return ctx;
}

port.on('message', (msg: ToWorker) => {
  let reply: FromWorker;
  try {
    reply = { zone: msg.zone, partial: runZone(context(), msg.zone, { createSystem: () => createSystem(scenario.system) }) };
  } catch (err) {
    const e = err as Error;
    reply = { zone: msg.zone, error: { code: isEparaError(err) ? err.code : null, message: String(e?.message ?? err), stack: e?.stack ?? '' } };
  }
  port.postMessage(reply);
});
