import { PLACEMENT_TOLERANCE } from './duty-cycle.js';
import type { PlacementModel, ServiceNode } from './model.js';
import type { Objective } from './objective-port.js';
import { UNDO_ALIVE, UNDO_FLOW, UndoLog } from './flow-undo.js';
import { OrderedFlows } from './ordered-flows.js';

const EPS = 1e-12;

interface Sink {
  cap: number;
  /** The demand nodes that reach it within the SLO, ascending: the first `reachCount` of `reach`. */
  reach: Int32Array;
  reachCount: number;
  load: number;
  alive: boolean;
}

interface ServiceFlow {
  readonly svc: ServiceNode;
  /** Round trips from each demand node's access server to every server. */
  readonly rows: readonly Float64Array[];
  readonly residual: Float64Array;
  /**
   * Per sink: demand node → flow into it. A trial sink takes the next sink's row, which its undo empties again
   * (each key's first record restores it to absent).
   */
  readonly bySink: OrderedFlows;
  /** Per demand node: sink → flow (the same flows, the other way). */
  readonly byDemand: OrderedFlows;
  readonly sinks: Sink[];
  /** The sink a trial gain pushes and pops again, reused (its reach buffer holds every demand node). */
  readonly trial: Sink;
  remaining: number;
  served: number;
  capacity: number;
}

type Log = UndoLog | null;

/**
 * Locality objective: per service, the value of a bipartite max-flow from access-server demand nodes to the
 * placed instances each can reach within the SLO. The flow is kept maximum incrementally: adding an instance
 * only needs augmenting paths that end at it; marginal gains are computed on the live flow with an undo log.
 */
export function createFlowObjective(model: PlacementModel): Objective {
  const states: ServiceFlow[] = model.services.map((svc) => ({
    svc,
    rows: svc.reachRows,
    residual: Float64Array.from(svc.accessRate),
    bySink: new OrderedFlows(16, svc.access.length),
    byDemand: new OrderedFlows(svc.access.length, 16),
    sinks: [],
    trial: { cap: 0, reach: new Int32Array(svc.access.length), reachCount: 0, load: 0, alive: true },
    remaining: svc.totalDemand,
    served: 0,
    capacity: 0,
  }));
  const handles: { service: number; sink: number }[] = [];
  // One log for every trial (gain and removalLoss run one at a time and undo before returning).
  const log = new UndoLog();

  /** Writes the demand nodes that reach `server` within the SLO into `out`; returns how many. */
  const reachInto = (st: ServiceFlow, server: number, latencyMs: number, out: Int32Array): number => {
    const budget = st.svc.sloMs * (1 + PLACEMENT_TOLERANCE) - latencyMs;
    const rows = st.rows;
    let n = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i]![server]! <= budget) out[n++] = i;
    return n;
  };

  return {
    gain(s) {
      const st = states[s.service]!;
      if (st.remaining <= EPS) return 0;
      // Fast path without allocating: unserved demand that reaches this server directly may cover it.
      const budget = st.svc.sloMs * (1 + PLACEMENT_TOLERANCE) - s.latencyMs;
      const rows = st.rows;
      let direct = 0;
      for (let i = 0; i < st.residual.length && direct < s.capacityPerSec; i++) {
        if (st.residual[i]! > EPS && rows[i]![s.server]! <= budget) direct += st.residual[i]!;
      }
      if (direct >= s.capacityPerSec) return s.capacityPerSec;
      const trial = st.trial;
      trial.reachCount = reachInto(st, s.server, s.latencyMs, trial.reach);
      trial.cap = s.capacityPerSec;
      trial.load = 0;
      log.n = 0;
      const before = st.served;
      st.sinks.push(trial);
      augmentToSink(st, st.sinks.length - 1, log);
      const g = st.served - before;
      undo(st, log);
      st.sinks.pop();
      return g;
    },
    add(s) {
      const st = states[s.service]!;
      const n = reachInto(st, s.server, s.latencyMs, st.trial.reach);
      st.sinks.push({ cap: s.capacityPerSec, reach: st.trial.reach.slice(0, n), reachCount: n, load: 0, alive: true });
      st.capacity += s.capacityPerSec;
      augmentToSink(st, st.sinks.length - 1, null);
      handles.push({ service: s.service, sink: st.sinks.length - 1 });
      return handles.length - 1;
    },
    removalLoss(h) {
      const { service, sink } = handles[h]!;
      const st = states[service]!;
      log.n = 0;
      const before = st.served;
      removeSink(st, sink, log);
      augmentAll(st, log);
      const loss = before - st.served;
      undo(st, log);
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

/** Replays `log` backwards (the steps' inverses, last first). */
function undo(st: ServiceFlow, log: UndoLog): void {
  const a = log.a;
  let n = log.n;
  while (n > 0) {
    const tag = a[--n]!;
    if (tag === UNDO_FLOW) {
      n -= 3;
      writeFlow(st, a[n]!, a[n + 1]!, a[n + 2]!);
    } else if (tag === UNDO_ALIVE) {
      st.sinks[a[--n]!]!.alive = true;
    } else {
      n -= 6;
      const i = a[n]!;
      st.residual[i] = a[n + 2]!;
      st.sinks[a[n + 1]!]!.load = a[n + 3]!;
      st.served = a[n + 4]!;
      st.remaining = a[n + 5]!;
    }
  }
  log.n = 0;
}

function setFlow(st: ServiceFlow, i: number, j: number, v: number, log: Log): void {
  if (log) log.flow(i, j, st.bySink.get(j, i));
  writeFlow(st, i, j, v);
}

function writeFlow(st: ServiceFlow, i: number, j: number, v: number): void {
  if (v > EPS) {
    st.bySink.set(j, i, v);
    st.byDemand.set(i, j, v);
  } else {
    st.bySink.delete(j, i);
    st.byDemand.delete(i, j);
  }
}

/** Moves `delta` of flow from the source (residual of `i`) into sink `j` directly. */
function shiftScalars(st: ServiceFlow, i: number, j: number, delta: number, log: Log): void {
  const sink = st.sinks[j]!;
  const r = st.residual[i]!;
  const l = sink.load;
  const sv = st.served;
  const rem = st.remaining;
  if (log) log.scalars(i, j, r, l, sv, rem);
  st.residual[i] = r - delta;
  sink.load = l + delta;
  st.served = sv + delta;
  st.remaining = rem - delta;
}

function augmentToSink(st: ServiceFlow, c: number, log: Log): void {
  const sink = st.sinks[c]!;
  const reach = sink.reach;
  for (let p = 0; p < sink.reachCount; p++) {
    const i = reach[p]!;
    const room = sink.cap - sink.load;
    if (room <= EPS) return;
    const r = st.residual[i]!;
    if (r <= EPS) continue;
    const d = Math.min(r, room);
    setFlow(st, i, c, st.bySink.get(c, i) + d, log);
    shiftScalars(st, i, c, d, log);
  }
  while (sink.cap - sink.load > EPS && st.remaining > EPS) {
    if (!augmentOnce(st, c, log)) return;
  }
}

/** One augmenting path that ends at sink `c`, found by a backward BFS over alternating edges. */
/** Reused BFS buffers of one service (epoch stamps instead of clearing). */
interface Scratch {
  viaSink: Int32Array;
  seenDemand: Uint32Array;
  viaDemand: Int32Array;
  seenSink: Uint32Array;
  queue: Int32Array;
  epoch: number;
}

const scratches = new WeakMap<ServiceFlow, Scratch>();

function scratchOf(st: ServiceFlow): Scratch {
  const nA = st.residual.length;
  let sc = scratches.get(st);
  if (!sc) {
    sc = { viaSink: new Int32Array(nA), seenDemand: new Uint32Array(nA), viaDemand: new Int32Array(16), seenSink: new Uint32Array(16), queue: new Int32Array(nA), epoch: 0 };
    scratches.set(st, sc);
  }
  if (sc.viaDemand.length < st.sinks.length) {
    const n = Math.max(st.sinks.length, 2 * sc.viaDemand.length);
    sc.viaDemand = new Int32Array(n);
    sc.seenSink = new Uint32Array(n);
    sc.epoch = 0;
    sc.seenDemand.fill(0);
  }
  sc.epoch++;
  return sc;
}

function augmentOnce(st: ServiceFlow, c: number, log: Log): boolean {
  const sc = scratchOf(st);
  const { viaSink, seenDemand, viaDemand, seenSink, queue, epoch } = sc;
  seenSink[c] = epoch;
  let tail = 0;
  const sinkC = st.sinks[c]!;
  for (let p = 0; p < sinkC.reachCount; p++) {
    const i = sinkC.reach[p]!;
    if (seenDemand[i] !== epoch) (seenDemand[i] = epoch), (viaSink[i] = c), (queue[tail++] = i);
  }
  let found = -1;
  for (let h = 0; h < tail && found < 0; h++) {
    const i = queue[h]!;
    if (st.residual[i]! > EPS) found = i;
    else {
      const byDemand = st.byDemand;
      for (let j = byDemand.first(i); j >= 0; j = byDemand.after(i, j)) {
        if (byDemand.get(i, j) <= EPS || seenSink[j] === epoch || !st.sinks[j]!.alive) continue;
        seenSink[j] = epoch;
        viaDemand[j] = i;
        const sj = st.sinks[j]!;
        for (let p = 0; p < sj.reachCount; p++) {
          const i2 = sj.reach[p]!;
          if (seenDemand[i2] !== epoch) (seenDemand[i2] = epoch), (viaSink[i2] = j), (queue[tail++] = i2);
        }
      }
    }
  }
  if (found < 0) return false;
  let delta = Math.min(st.residual[found]!, sinkC.cap - sinkC.load);
  for (let i = found, j = viaSink[found]!; j !== c; i = viaDemand[j]!, j = viaSink[i]!) {
    delta = Math.min(delta, st.bySink.get(j, viaDemand[j]!));
  }
  let i = found;
  let j = viaSink[found]!;
  while (true) {
    setFlow(st, i, j, st.bySink.get(j, i) + delta, log);
    if (j === c) break;
    const prev = viaDemand[j]!;
    setFlow(st, prev, j, st.bySink.get(j, prev) - delta, log);
    i = prev;
    j = viaSink[prev]!;
  }
  // Net effect on scalars: the source gives `delta` from `found`, sink `c` takes it.
  shiftScalars(st, found, c, delta, log);
  return true;
}

function removeSink(st: ServiceFlow, j: number, log: Log): void {
  const flows = st.bySink;
  // Each step deletes the row's first key, so the walk always restarts at its head.
  for (let i = flows.first(j); i >= 0; i = flows.first(j)) {
    const f = flows.get(j, i);
    setFlow(st, i, j, 0, log);
    shiftScalars(st, i, j, -f, log);
  }
  if (log) log.alive(j);
  st.sinks[j]!.alive = false;
}

/** Restores a maximum flow after a sink left: forward BFS from residual demand to sinks with room. */
function augmentAll(st: ServiceFlow, log: Log): void {
  // The alive sinks each demand node reaches, ascending, as one flat list with offsets (reused buffers).
  const nD = st.residual.length;
  if (REACH.start.length < nD + 1) REACH.start = new Int32Array(2 * nD + 1);
  const start = REACH.start;
  start.fill(0, 0, nD + 1);
  for (const s of st.sinks) if (s.alive) for (let p = 0; p < s.reachCount; p++) start[s.reach[p]! + 1]!++;
  for (let i = 0; i < nD; i++) start[i + 1]! += start[i]!;
  if (REACH.list.length < start[nD]!) REACH.list = new Int32Array(2 * start[nD]!);
  if (REACH.fill.length < nD) REACH.fill = new Int32Array(2 * nD);
  const list = REACH.list;
  const fill = REACH.fill;
  fill.set(start.subarray(0, nD));
  for (let j = 0; j < st.sinks.length; j++) {
    const s = st.sinks[j]!;
    if (s.alive) for (let p = 0; p < s.reachCount; p++) list[fill[s.reach[p]!]!++] = j;
  }
  while (st.remaining > EPS) {
    if (!augmentForward(st, start, list, log)) return;
  }
}

/** Buffers of {@link augmentAll}'s reach lists, grown as needed. */
const REACH = { start: new Int32Array(16), list: new Int32Array(16), fill: new Int32Array(16) };

/** Buffers of {@link augmentForward}, grown as needed. */
const FWD = { fromDemand: new Int32Array(16), fromSink: new Int32Array(16), seenD: new Uint8Array(16), queue: new Int32Array(16) };

function augmentForward(st: ServiceFlow, reachStart: Int32Array, reachList: Int32Array, log: Log): boolean {
  // Reused buffers (this runs once per augmenting path of every trial removal), reset over the used range.
  const nD = st.residual.length;
  const nS = st.sinks.length;
  if (FWD.fromSink.length < nD) FWD.fromSink = new Int32Array(2 * nD);
  if (FWD.seenD.length < nD) FWD.seenD = new Uint8Array(2 * nD);
  if (FWD.queue.length < nD) FWD.queue = new Int32Array(2 * nD);
  if (FWD.fromDemand.length < nS) FWD.fromDemand = new Int32Array(2 * nS);
  const { fromDemand, fromSink, seenD, queue } = FWD;
  fromDemand.fill(-1, 0, nS);
  fromSink.fill(-1, 0, nD);
  seenD.fill(0, 0, nD);
  let tail = 0;
  for (let i = 0; i < nD; i++) if (st.residual[i]! > EPS) (seenD[i] = 1), (queue[tail++] = i);
  let end = -1;
  for (let h = 0; h < tail && end < 0; h++) {
    const i = queue[h]!;
    for (let p = reachStart[i]!, to = reachStart[i + 1]!; p < to; p++) {
      const j = reachList[p]!;
      if (fromDemand[j]! >= 0) continue;
      fromDemand[j] = i;
      const s = st.sinks[j]!;
      if (s.cap - s.load > EPS) {
        end = j;
        break;
      }
      const flows = st.bySink;
      for (let i2 = flows.first(j); i2 >= 0; i2 = flows.after(j, i2)) if (flows.get(j, i2) > EPS && !seenD[i2]) (seenD[i2] = 1), (fromSink[i2] = j), (queue[tail++] = i2);
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
    delta = Math.min(delta, st.bySink.get(back, i));
    j = back;
  }
  for (let j = end; ; ) {
    const i = fromDemand[j]!;
    setFlow(st, i, j, st.bySink.get(j, i) + delta, log);
    const back = fromSink[i]!;
    if (back < 0) break;
    setFlow(st, i, back, st.bySink.get(back, i) - delta, log);
    j = back;
  }
  shiftScalars(st, start, end, delta, log);
  return true;
}
