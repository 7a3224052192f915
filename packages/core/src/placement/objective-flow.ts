import { PLACEMENT_TOLERANCE } from './duty-cycle.js';
import type { PlacementModel, ServiceNode } from './model.js';
import type { Objective } from './objective.js';

const EPS = 1e-12;

interface Sink {
  readonly server: number;
  readonly cap: number;
  readonly reach: readonly number[];
  load: number;
  alive: boolean;
  /** demand node → flow into this sink */
  readonly flows: Map<number, number>;
}

interface ServiceFlow {
  readonly svc: ServiceNode;
  readonly residual: Float64Array;
  /** per demand node: sink → flow */
  readonly byDemand: Map<number, number>[];
  readonly sinks: Sink[];
  remaining: number;
  served: number;
  capacity: number;
}

type UndoLog = (() => void)[] | null;

/**
 * Locality objective: per service, the value of a bipartite max-flow from access-server demand nodes to the
 * placed instances each can reach within the SLO. The flow is kept maximum incrementally: adding an instance
 * only needs augmenting paths that end at it; marginal gains are computed on the live flow with an undo log.
 */
export function createFlowObjective(model: PlacementModel): Objective {
  const states: ServiceFlow[] = model.services.map((svc) => ({
    svc,
    residual: Float64Array.from(svc.accessRate),
    byDemand: svc.access.map(() => new Map<number, number>()),
    sinks: [],
    remaining: svc.totalDemand,
    served: 0,
    capacity: 0,
  }));
  const handles: { service: number; sink: number }[] = [];

  const reachOf = (svc: ServiceNode, server: number, latencyMs: number): number[] => {
    const out: number[] = [];
    const budget = svc.sloMs * (1 + PLACEMENT_TOLERANCE);
    for (let i = 0; i < svc.access.length; i++) if (model.roundTripMs(svc.access[i]!, server) + latencyMs <= budget) out.push(i);
    return out;
  };

  return {
    gain(s) {
      const st = states[s.service]!;
      if (st.remaining <= EPS) return 0;
      const reach = reachOf(st.svc, s.server, s.latencyMs);
      let direct = 0;
      for (const i of reach) direct += st.residual[i]!;
      if (direct >= s.capacityPerSec) return s.capacityPerSec;
      const log: (() => void)[] = [];
      const before = st.served;
      st.sinks.push({ server: s.server, cap: s.capacityPerSec, reach, load: 0, alive: true, flows: new Map() });
      augmentToSink(st, st.sinks.length - 1, log);
      const g = st.served - before;
      for (let k = log.length - 1; k >= 0; k--) log[k]!();
      st.sinks.pop();
      return g;
    },
    add(s) {
      const st = states[s.service]!;
      const reach = reachOf(st.svc, s.server, s.latencyMs);
      st.sinks.push({ server: s.server, cap: s.capacityPerSec, reach, load: 0, alive: true, flows: new Map() });
      st.capacity += s.capacityPerSec;
      augmentToSink(st, st.sinks.length - 1, null);
      handles.push({ service: s.service, sink: st.sinks.length - 1 });
      return handles.length - 1;
    },
    removalLoss(h) {
      const { service, sink } = handles[h]!;
      const st = states[service]!;
      const log: (() => void)[] = [];
      const before = st.served;
      removeSink(st, sink, log);
      augmentAll(st, log);
      const loss = before - st.served;
      for (let k = log.length - 1; k >= 0; k--) log[k]!();
      return loss;
    },
    remove(h) {
      const { service, sink } = handles[h]!;
      const st = states[service]!;
      st.capacity -= st.sinks[sink]!.cap;
      removeSink(st, sink, null);
      augmentAll(st, null);
    },
    slack(h) {
      const { service, sink } = handles[h]!;
      const s = states[service]!.sinks[sink]!;
      return Math.max(0, s.cap - s.load);
    },
    served: (k) => states[k]!.served,
    capacity: (k) => states[k]!.capacity,
  };
}

function setFlow(st: ServiceFlow, i: number, j: number, v: number, log: UndoLog): void {
  const sink = st.sinks[j]!;
  const old = sink.flows.get(i) ?? 0;
  if (log) log.push(() => writeFlow(st, i, j, old));
  writeFlow(st, i, j, v);
}

function writeFlow(st: ServiceFlow, i: number, j: number, v: number): void {
  const sink = st.sinks[j]!;
  if (v > EPS) {
    sink.flows.set(i, v);
    st.byDemand[i]!.set(j, v);
  } else {
    sink.flows.delete(i);
    st.byDemand[i]!.delete(j);
  }
}

/** Moves `delta` of flow from the source (residual of `i`) into sink `j` directly. */
function shiftScalars(st: ServiceFlow, i: number, j: number, delta: number, log: UndoLog): void {
  const sink = st.sinks[j]!;
  const [r, l, sv, rem] = [st.residual[i]!, sink.load, st.served, st.remaining];
  if (log) {
    log.push(() => {
      st.residual[i] = r;
      sink.load = l;
      st.served = sv;
      st.remaining = rem;
    });
  }
  st.residual[i] = r - delta;
  sink.load = l + delta;
  st.served = sv + delta;
  st.remaining = rem - delta;
}

function augmentToSink(st: ServiceFlow, c: number, log: UndoLog): void {
  const sink = st.sinks[c]!;
  for (const i of sink.reach) {
    const room = sink.cap - sink.load;
    if (room <= EPS) return;
    const r = st.residual[i]!;
    if (r <= EPS) continue;
    const d = Math.min(r, room);
    setFlow(st, i, c, (sink.flows.get(i) ?? 0) + d, log);
    shiftScalars(st, i, c, d, log);
  }
  while (sink.cap - sink.load > EPS && st.remaining > EPS) {
    if (!augmentOnce(st, c, log)) return;
  }
}

/** One augmenting path that ends at sink `c`, found by a backward BFS over alternating edges. */
function augmentOnce(st: ServiceFlow, c: number, log: UndoLog): boolean {
  const nA = st.residual.length;
  const viaSink = new Int32Array(nA).fill(-1);
  const viaDemand = new Int32Array(st.sinks.length).fill(-1);
  const seenSink = new Uint8Array(st.sinks.length);
  seenSink[c] = 1;
  const queue: number[] = [];
  for (const i of st.sinks[c]!.reach) if (viaSink[i]! < 0) (viaSink[i] = c), queue.push(i);
  let found = -1;
  for (let h = 0; h < queue.length && found < 0; h++) {
    const i = queue[h]!;
    if (st.residual[i]! > EPS) found = i;
    else {
      for (const [j, f] of st.byDemand[i]!) {
        if (f <= EPS || seenSink[j] || !st.sinks[j]!.alive) continue;
        seenSink[j] = 1;
        viaDemand[j] = i;
        for (const i2 of st.sinks[j]!.reach) if (viaSink[i2]! < 0) (viaSink[i2] = j), queue.push(i2);
      }
    }
  }
  if (found < 0) return false;
  const sinkC = st.sinks[c]!;
  let delta = Math.min(st.residual[found]!, sinkC.cap - sinkC.load);
  for (let i = found, j = viaSink[found]!; j !== c; i = viaDemand[j]!, j = viaSink[i]!) {
    delta = Math.min(delta, st.sinks[j]!.flows.get(viaDemand[j]!) ?? 0);
  }
  let i = found;
  let j = viaSink[found]!;
  while (true) {
    setFlow(st, i, j, (st.sinks[j]!.flows.get(i) ?? 0) + delta, log);
    if (j === c) break;
    const prev = viaDemand[j]!;
    setFlow(st, prev, j, (st.sinks[j]!.flows.get(prev) ?? 0) - delta, log);
    i = prev;
    j = viaSink[prev]!;
  }
  // Net effect on scalars: the source gives `delta` from `found`, sink `c` takes it.
  shiftScalars(st, found, c, delta, log);
  return true;
}

function removeSink(st: ServiceFlow, j: number, log: UndoLog): void {
  const sink = st.sinks[j]!;
  for (const [i, f] of [...sink.flows]) {
    setFlow(st, i, j, 0, log);
    shiftScalars(st, i, j, -f, log);
  }
  if (log) log.push(() => (sink.alive = true));
  sink.alive = false;
}

/** Restores a maximum flow after a sink left: forward BFS from residual demand to sinks with room. */
function augmentAll(st: ServiceFlow, log: UndoLog): void {
  const reachSinks: number[][] = st.residual.length ? Array.from(st.residual, () => []) : [];
  st.sinks.forEach((s, j) => {
    if (s.alive) for (const i of s.reach) reachSinks[i]!.push(j);
  });
  while (st.remaining > EPS) {
    if (!augmentForward(st, reachSinks, log)) return;
  }
}

function augmentForward(st: ServiceFlow, reachSinks: readonly number[][], log: UndoLog): boolean {
  const fromDemand = new Int32Array(st.sinks.length).fill(-1);
  const fromSink = new Int32Array(st.residual.length).fill(-1);
  const seenD = new Uint8Array(st.residual.length);
  const queue: number[] = [];
  for (let i = 0; i < st.residual.length; i++) if (st.residual[i]! > EPS) (seenD[i] = 1), queue.push(i);
  let end = -1;
  for (let h = 0; h < queue.length && end < 0; h++) {
    const i = queue[h]!;
    for (const j of reachSinks[i]!) {
      if (fromDemand[j]! >= 0) continue;
      fromDemand[j] = i;
      const s = st.sinks[j]!;
      if (s.cap - s.load > EPS) {
        end = j;
        break;
      }
      for (const [i2, f] of s.flows) if (f > EPS && !seenD[i2]) (seenD[i2] = 1), (fromSink[i2] = j), queue.push(i2);
    }
  }
  if (end < 0) return false;
  // Walk back from `end` to the source demand node, collecting the bottleneck.
  const endSink = st.sinks[end]!;
  let delta = endSink.cap - endSink.load;
  let start = -1;
  for (let j = end; ; ) {
    const i = fromDemand[j]!;
    const back = fromSink[i]!;
    if (back < 0) {
      start = i;
      delta = Math.min(delta, st.residual[i]!);
      break;
    }
    delta = Math.min(delta, st.sinks[back]!.flows.get(i) ?? 0);
    j = back;
  }
  for (let j = end; ; ) {
    const i = fromDemand[j]!;
    setFlow(st, i, j, (st.sinks[j]!.flows.get(i) ?? 0) + delta, log);
    const back = fromSink[i]!;
    if (back < 0) break;
    setFlow(st, i, back, (st.sinks[back]!.flows.get(i) ?? 0) - delta, log);
    j = back;
  }
  shiftScalars(st, start, end, delta, log);
  return true;
}
