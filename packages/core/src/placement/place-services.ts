import { buildPlacement, type BuildOutcome } from './build-placement.js';
import { buildTemplates, footprintOf, itemMemoryBytes } from './candidates.js';
import { planChanges, type ChangeItem } from './change-plan.js';
import { createBuildState, exceeds, netGain, objectiveValue, type Chosen, type GreedyContext } from './greedy.js';
import { placementGuarantee } from './guarantee.js';
import { buildPlacementModel, type PlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions, type PlacementRunOptions, type ResolvedPlacementOptions } from './options.js';
import { swapServers, type SwapStats } from './server-swap.js';
import { validatePlacementInput } from './validate-input.js';
import { valueGap } from './value.js';
import type { PlacedInstance, PlacementInput, PlacementResult, ServicePlacement } from './types.js';

/**
 * Chooses the next service placement: which plan of which service runs on which devices of which server.
 * Maximizes predicted goodput (weighted `Σ min(demand, capacity)`, or a locality max-flow) minus the goodput lost
 * while new instances load, under device memory, duty-cycle time share, exclusive groups and health, by lazy
 * cost-benefit greedy with a best-single-item safeguard, starting from the current placement. Pure and
 * deterministic: the same input gives the same output, and feeding the output back as `current` with unchanged
 * demand changes nothing.
 *
 * @example
 * ```ts
 * const next = placeServices({ servers, services, plans, demand, current: previous.instances });
 * for (const step of next.changes) await apply(step); // load → ready → drain → free
 * ```
 *
 * @throws EparaError `INVALID_OPTIONS` for a bad option or input field (named in `details.field`);
 * `UNKNOWN_SERVICE` when plans, demand or the current placement name a service not in `services`.
 */
export function placeServices(input: PlacementInput, options: PlacementOptions = {}): PlacementResult {
  validatePlacementInput(input);
  const resolved = effectivePlacementOptions(resolvePlacementOptions(options), input);
  if (resolved.shortage === false) return placeValued(input, resolved).result;
  const floorsOptions: ResolvedPlacementOptions = { ...resolved, valueWeighting: 'floors-by-load', minServedShare: 1 };
  if (resolved.shortage === 'switch') {
    // Whole-demand floors valued by load first; kept when the devices are short.
    const floors = placeValued(input, floorsOptions);
    if (leavesForecastUnmet(floors)) return withShortage(floors.result, 'floors-by-load', 0);
    return withShortage(placeValued(input, resolved).result, 'as-given', floors.result.stats.evaluations);
  }
  // The estimate. Where the options as given meet every forecast, floors by load cannot serve more within it.
  const given = placeValued(input, resolved);
  if (!leavesForecastUnmet(given)) return withShortage(given.result, 'as-given', 0);
  const floors = placeValued(input, floorsOptions);
  // Floors by load only where they serve clearly more predicted items, in all and within the forecast.
  const more = (a: number, b: number): boolean => a > b * (1 + ESTIMATE_MARGIN);
  if (leavesForecastUnmet(floors) && more(floors.result.goodputPerSec, given.result.goodputPerSec) && more(withinForecast(floors), withinForecast(given))) {
    return withShortage(floors.result, 'floors-by-load', given.result.stats.evaluations);
  }
  return withShortage(given.result, 'as-given', floors.result.stats.evaluations);
}

/** Some service is served less than its forecast (demand ÷ `demandHeadroom`, plus backlog). */
function leavesForecastUnmet(x: Valued): boolean {
  return x.model.services.some((svc) => x.result.services[svc.index]!.servedPerSec < svc.forecastPerSec * (1 - SHORT_TOLERANCE));
}

/** Predicted items/s within the forecast: `Σ min(served, forecast)`. */
function withinForecast(x: Valued): number {
  return x.model.services.reduce((s, svc) => s + Math.min(x.result.services[svc.index]!.servedPerSec, svc.forecastPerSec), 0);
}

/** A service counts as short when less than this share of its forecast is served (float noise aside). */
const SHORT_TOLERANCE = 1e-9;

/**
 * How much more predicted goodput (in all, and within the forecast) the floors-by-load placement must serve for
 * `shortage: 'estimate'` to keep it: the prediction (nominal capacities, reach by round trip) misses what the
 * run loses to late arrivals and contested uplinks by a few per cent, so a smaller predicted gain is no gain.
 */
const ESTIMATE_MARGIN = 0.02;

interface Valued {
  readonly result: PlacementResult;
  readonly model: PlacementModel;
}

/** The result of the shortage switch, its work counting every placement it made. */
function withShortage(result: PlacementResult, shortage: 'floors-by-load' | 'as-given', otherEvaluations: number): PlacementResult {
  return { ...result, stats: { ...result.stats, evaluations: result.stats.evaluations + otherEvaluations, shortage } };
}

/** One placement with the valuation decided. */
function placeValued(input: PlacementInput, resolved: ResolvedPlacementOptions): Valued {
  const model = buildPlacementModel(input, resolved);
  const result = placeAuto(input, model, resolved);
  if (!model.services.some((svc) => svc.slackSplit)) return { model, result };
  // `slackReach` read some late items: also place on the whole deadline, and keep the slack-read placement only
  // when, judged by the same slack-read reach, it serves more items in all than that one.
  const wholeOptions: ResolvedPlacementOptions = { ...resolved, slackReach: false };
  const wholeModel = buildPlacementModel(input, wholeOptions);
  const whole = placeAuto(input, wholeModel, wholeOptions);
  const evaluations = result.stats.evaluations + whole.stats.evaluations;
  if (result.goodputPerSec > servedUnder(model, resolved, whole.instances) * (1 + SLACK_MARGIN)) return { model, result: { ...result, stats: { ...result.stats, evaluations } } };
  return { model: wholeModel, result: { ...whole, stats: { ...whole.stats, evaluations } } };
}

/** Items/s `instances` serve under `model`'s reach (as kept instances: their shares grown where demand is unmet). */
function servedUnder(model: PlacementModel, resolved: ResolvedPlacementOptions, instances: readonly PlacedInstance[]): number {
  const ctx: GreedyContext = { model, options: { ...resolved, multiTask: true }, templates: [] };
  const { state } = buildPlacement(ctx, instances, -1, { greedy: false });
  return model.services.reduce((s, svc) => s + state.objective.served(svc.index), 0);
}

/** How many more predicted items the slack-read placement must serve to be kept (`slackReach`). */
const SLACK_MARGIN = 0;

/** One placement with co-location `'auto'`, `true` or `false`. */
function placeAuto(input: PlacementInput, model: PlacementModel, resolved: ResolvedPlacementOptions): PlacementResult {
  if (resolved.multiTask !== 'auto') return placeRun(input, model, { ...resolved, multiTask: resolved.multiTask });
  // Whole devices, unless that leaves a service with demand without an instance that sharing gives one.
  const alone = placeRun(input, model, { ...resolved, multiTask: false });
  const wanting = model.services.filter((svc) => svc.totalDemand > 0 && svc.weight > 0 && svc.plans.length > 0).map((svc) => svc.index);
  // `services` lists the model's services in order.
  const placed = (r: PlacementResult): number => wanting.filter((k) => r.services[k]!.instances > 0).length;
  if (placed(alone) >= wanting.length) return alone;
  const shared = placeRun(input, model, { ...resolved, multiTask: true });
  return placed(shared) > placed(alone) ? shared : alone;
}

/** One placement with co-location decided. */
function placeRun(input: PlacementInput, model: PlacementModel, resolved: PlacementRunOptions): PlacementResult {
  const templates = buildTemplates(model, resolved);
  const ctx: GreedyContext = { model, options: resolved, templates };
  const current = input.current ?? [];
  const first = buildPlacement(ctx, current);
  let outcome = first;
  let usedSafeguard = false;
  const better = (alt: BuildOutcome): boolean => exceeds(objectiveValue(ctx, alt.state), objectiveValue(ctx, outcome.state), resolved.epsilon);
  const inFirst = (t: number): boolean => first.state.chosen.some((c) => !c.removed && c.template?.index === t);
  const best = first.singles[0] ?? -1;
  if (resolved.safeguard && best >= 0 && !inFirst(best) && singleWins(ctx, current, best, first)) {
    const alt = buildPlacement(ctx, current, best);
    if (better(alt)) (outcome = alt), (usedSafeguard = true);
  }
  // Partial enumeration of size one: greedy again after each of the next-best single items.
  const restarts = restartCount(ctx);
  for (const seed of first.singles.filter((t) => t !== best && !inFirst(t)).slice(0, restarts)) {
    const alt = buildPlacement(ctx, current, seed);
    if (better(alt)) (outcome = alt), (usedSafeguard = false);
  }
  // Groups first: multi-device groups placed before the cheap shared items that would crowd them out.
  if (restarts > 0 && ctx.templates.some((t) => t.foot.exclusive && t.plan.devices > 1)) {
    const alt = buildPlacement(ctx, current, -1, { greedy: true, groupsFirst: true });
    if (better(alt)) (outcome = alt), (usedSafeguard = false);
  }
  // Starved services: greedy again after one of their items, for the services the best result leaves short.
  if (restarts > 0) {
    for (const seed of starvedSeeds(ctx, outcome.state)) {
      const alt = buildPlacement(ctx, current, seed);
      if (better(alt)) (outcome = alt), (usedSafeguard = false);
    }
  }
  const swaps = resolved.serverSwap ? swapServers(ctx, outcome.state) : undefined;
  return assemble(ctx, current, outcome, usedSafeguard, swaps);
}

/** Services with unmet demand considered for starved-service restarts, largest weighted gap first. */
const STARVED_SERVICES = 4;

/**
 * Seeds for restarts that start from a service the placement leaves short: per such service (largest weighted
 * unmet demand first), its template with the best gain per cost and the one with the best gain, on an empty
 * cluster. Greedy's order can crowd a service out (its devices go to cheaper items first); seeding it first lets
 * the rest be packed around it.
 */
function starvedSeeds(ctx: GreedyContext, state: BuildOutcome['state']): number[] {
  const { model, options } = ctx;
  const short = model.services
    .map((svc) => ({ k: svc.index, gap: valueGap(svc, state.objective.served(svc.index)) }))
    .filter((x) => x.gap > options.epsilon)
    .sort((a, b) => b.gap - a.gap || a.k - b.k)
    .slice(0, STARVED_SERVICES);
  const empty = createBuildState(ctx);
  const seeds: number[] = [];
  for (const { k } of short) {
    const mine = ctx.templates.filter((t) => t.service === k).map((t) => ({ t: t.index, net: netGain(ctx, empty, t), cost: t.cost }));
    const byRatio = [...mine].sort((a, b) => b.net / b.cost - a.net / a.cost || a.t - b.t)[0];
    const byGain = [...mine].sort((a, b) => b.net - a.net || a.t - b.t)[0];
    for (const x of [byRatio, byGain]) if (x && x.net > options.epsilon && !seeds.includes(x.t)) seeds.push(x.t);
  }
  return seeds;
}

/** Restarts to run: the option, or with `'auto'` 6 when the candidate items are few (≤ 20 000), else 0. */
function restartCount(ctx: GreedyContext): number {
  const r = ctx.options.restarts;
  if (r !== 'auto') return r;
  let items = 0;
  for (const t of ctx.templates) for (const p of t.pools) items += p.length;
  return items <= AUTO_RESTART_ITEMS ? 6 : 0;
}

/** Concrete candidate items up to which `restarts: 'auto'` runs restarts. */
const AUTO_RESTART_ITEMS = 20_000;

/**
 * The knapsack safeguard compares greedy with the best single item (on top of the kept instances); only when
 * that item alone beats greedy is the greedy completion after it worth computing.
 */
function singleWins(ctx: GreedyContext, current: readonly PlacedInstance[], best: number, outcome: BuildOutcome): boolean {
  const alone = buildPlacement(ctx, current, best, { greedy: false });
  return exceeds(objectiveValue(ctx, alone.state), objectiveValue(ctx, outcome.state), ctx.options.epsilon);
}

function assemble(ctx: GreedyContext, current: readonly PlacedInstance[], outcome: BuildOutcome, usedSafeguard: boolean, swaps?: SwapStats): PlacementResult {
  const { model, options } = ctx;
  const { state } = outcome;
  const live = state.chosen.filter((c) => !c.removed);
  const taken = new Set(current.map((c) => c.instanceId));
  const instances = live.map((c) => (c.current ? keptInstance(c.current, c) : newInstance(model, c, taken)));
  const services: ServicePlacement[] = model.services.map((svc) => ({
    serviceId: svc.id,
    demandPerSec: svc.totalDemand,
    capacityPerSec: state.objective.capacity(svc.index),
    servedPerSec: state.objective.served(svc.index),
    instances: live.filter((c) => c.service === svc.index).length,
  }));
  const keptIds = new Set(live.filter((c) => c.current).map((c) => c.current!.instanceId));
  const failedIds = new Set(outcome.dropped.filter((d) => d.reason === 'failed').map((d) => d.instance.instanceId));
  const toItem = (inst: PlacedInstance, devices: readonly number[]): ChangeItem => {
    const svc = model.services[model.serviceIndex.get(inst.serviceId)!]!;
    const foot = footprintOf(svc, inst.plan, inst.capacityPerSec ?? inst.plan.capacityPerSec, options.multiTask);
    return { ...pick(inst), devices, memBytes: itemMemoryBytes(svc, inst.plan), exclusive: foot.exclusive };
  };
  const devicesOf = (inst: PlacedInstance): number[] => {
    const s = model.serverIndex.get(inst.serverId);
    return s === undefined ? [] : inst.deviceIds.map((id) => model.deviceIndex.get(`${s}:${id}`) ?? -1).filter((d) => d >= 0);
  };
  const changes = planChanges(model, {
    kept: current.filter((c) => keptIds.has(c.instanceId)).map((c) => toItem(c, devicesOf(c))),
    added: live.flatMap((c, i) => (c.current ? [] : [toItem(instances[i]!, c.devices)])),
    removed: current.filter((c) => !keptIds.has(c.instanceId) && !failedIds.has(c.instanceId)).map((c) => toItem(c, devicesOf(c))),
    lost: current.filter((c) => failedIds.has(c.instanceId)).map((c) => toItem(c, devicesOf(c))),
  });
  const switchCost = live.reduce((s, c) => s + c.penalty, 0);
  return {
    instances,
    goodputPerSec: services.reduce((s, x) => s + x.servedPerSec, 0),
    objective: objectiveValue(ctx, state),
    switchCost,
    services,
    changes,
    guarantee: placementGuarantee(options, { templates: ctx.templates, stateful: keptIds.size > 0 || switchCost > 0 }),
    stats: { candidates: ctx.templates.length, evaluations: state.evaluations, usedSafeguard, pruned: outcome.pruned, ...(swaps ? { swaps } : {}) },
  };
}

/** A kept instance, with its grown share when {@link upgradeShares} changed it (its old measurement is stale). */
function keptInstance(inst: PlacedInstance, c: Chosen): PlacedInstance {
  if (c.foot.capacityPerSec === (inst.capacityPerSec ?? inst.plan.capacityPerSec)) return inst;
  const { measuredCapacityPerSec: _stale, ...rest } = inst;
  return { ...rest, capacityPerSec: c.foot.capacityPerSec };
}

function pick(inst: PlacedInstance): Pick<ChangeItem, 'instanceId' | 'serviceId' | 'serverId' | 'deviceIds'> {
  return { instanceId: inst.instanceId, serviceId: inst.serviceId, serverId: inst.serverId, deviceIds: inst.deviceIds };
}

function newInstance(model: PlacementModel, c: Chosen, taken: Set<string>): PlacedInstance {
  const server = model.servers[model.devices[c.devices[0]!]!.server]!;
  const deviceIds = c.devices.map((d) => model.devices[d]!.id);
  const base = `${model.services[c.service]!.id}@${server.id}:${deviceIds.join('+')}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}#${n}`;
  taken.add(id);
  return { instanceId: id, serviceId: model.services[c.service]!.id, plan: c.plan, serverId: server.id, deviceIds, capacityPerSec: c.foot.capacityPerSec };
}
