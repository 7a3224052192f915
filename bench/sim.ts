/**
 * `pnpm bench:sim`: simulator speed and EPARA's goodput against the best baseline on the same workload and
 * seed. Last line: one JSON object with the figures issue 6 names.
 */
import { createEventQueue, runLoadSweep, runExperiment, runScalePoint, type ExperimentContext } from '../packages/sim/dist/index.js';

function rawEngineEventsPerSec(): number {
  // A steady heap of 65 536 pending events; each step pops the earliest and schedules a successor.
  const q = createEventQueue(1 << 16);
  let x = 12345;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < 1 << 16; i++) q.push(rnd() * 1000, 1, i);
  const n = 4_000_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    q.pop();
    q.push(q.time + rnd() * 1000, 1, q.a);
  }
  return n / ((performance.now() - started) / 1000);
}

const raw = rawEngineEventsPerSec();
console.log(`raw engine (heap push+pop, no model): ${Math.round(raw).toLocaleString()} events/s`);

// E6's largest point, measured in full: 1000 servers × 10 simulated minutes (wall and CPU time of this process).
const simSec = 600;
const cpu0 = process.cpuUsage();
const scale = runScalePoint(1000, simSec * 1000, 1);
const cpu = process.cpuUsage(cpu0);
const sec1000Servers10Min = scale.wallMs / 1000;
const cpuSec1000Servers10Min = (cpu.user + cpu.system) / 1e6;
const eventsPerSec = scale.events / (scale.wallMs / 1000);
console.log(`1000 servers × ${simSec} s simulated: ${sec1000Servers10Min.toFixed(1)} s wall (${cpuSec1000Servers10Min.toFixed(1)} s CPU), ${scale.events} events (${Math.round(eventsPerSec).toLocaleString()} events/s in the full model, ${Math.round(scale.events / cpuSec1000Servers10Min).toLocaleString()} per CPU second), offered ${scale.requestsPerSec.toFixed(0)} requests/s + ${scale.framesPerSec.toFixed(0)} frames/s, attainment ${scale.attainment.toFixed(3)}`);
console.log(`full model ÷ raw engine: ${(eventsPerSec / raw).toFixed(2)}`);

/** EPARA ÷ best baseline for the three mixes (quick sweeps) and E2's device saving, under one context. */
function compare(ctx: ExperimentContext, tag: string): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const kind of ['mixed', 'frequency', 'latency'] as const) {
    const r = runLoadSweep(ctx, kind, `bench-${kind}`);
    out[kind] = r.figures['maxRatio'] as number | null;
    console.log(`${tag} ${kind}: EPARA ÷ best baseline per load point = ${r.figures['ratios']} (max ${out[kind]})`);
  }
  const e2 = runExperiment('e2', ctx);
  console.log(`${tag} devices for ≥ 99 % attainment: EPARA ${e2.figures['eparaGpus']}, best baseline ${e2.figures['bestBaselineGpus']}`);
  out['devices'] = e2.figures['deviceSavingRatio'] as number | null;
  return out;
}

const ratios = compare({ seed: 1, quick: true }, '[core defaults]');
// The same comparison with core routeRequest's stalenessFactor 0 (the default this run's sensitivity proposes).
const trusting = compare({ seed: 1, quick: true, eparaRouteOptions: { stalenessFactor: 0 } }, '[stalenessFactor 0]');

console.log(JSON.stringify({
  eventsPerSec: Math.round(eventsPerSec),
  rawEngineEventsPerSec: Math.round(raw),
  sec1000Servers10Min: Math.round(sec1000Servers10Min * 10) / 10,
  cpuSec1000Servers10Min: Math.round(cpuSec1000Servers10Min * 10) / 10,
  offeredRequestsPerSec: Math.round(scale.requestsPerSec),
  offeredFramesPerSec: Math.round(scale.framesPerSec),
  mixedGoodputRatio: ratios['mixed'],
  frequencyGoodputRatio: ratios['frequency'],
  latencyGoodputRatio: ratios['latency'],
  deviceSavingRatio: ratios['devices'],
  stalenessFactor0: { mixedGoodputRatio: trusting['mixed'], frequencyGoodputRatio: trusting['frequency'], latencyGoodputRatio: trusting['latency'], deviceSavingRatio: trusting['devices'] },
}));
