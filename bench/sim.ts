/**
 * `pnpm bench:sim [--workers N]`: simulator speed (E6's largest point, its zones spread over N worker threads,
 * default one per core; `--workers 1` runs them one after the other in this thread), and EPARA's goodput in the edge world against each deployable baseline,
 * the best deployable one and the upper bound, on the same workload and seed. Last line: one JSON object.
 * The old ratio keys (`mixedGoodputRatio`, …) now mean the same as their `…VsBestDeployable` twins.
 */
import { loadavg } from 'node:os';
import { availableParallelism } from 'node:os';
import { AZURE_LLM_CONV_TRACE, DEPLOYABLE_BASELINES, runLoadSweep, runExperiment, type ExperimentContext } from '../packages/sim/dist/index.js';
import { createEventQueue, runScalePointInParallel } from '../packages/sim/dist/engine.js';

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

// E6's largest point, measured in full: 1000 servers × 10 simulated minutes (wall and CPU time of this process;
// `process.cpuUsage` is the whole process's, its worker threads included).
const workersArg = process.argv.indexOf('--workers');
const workers = workersArg >= 0 ? Number(process.argv[workersArg + 1]) : Math.min(20, availableParallelism());
const simSec = 600;
const load0 = loadavg()[0]!;
const cpu0 = process.cpuUsage();
const scale = await runScalePointInParallel({ servers: 1000, durationMs: simSec * 1000, seed: 1, workers });
const cpu = process.cpuUsage(cpu0);
const sec1000Servers10Min = scale.wallMs / 1000;
const cpuSec1000Servers10Min = (cpu.user + cpu.system) / 1e6;
const eventsPerSec = scale.events / (scale.wallMs / 1000);
console.log(`1000 servers × ${simSec} s simulated, ${workers} worker thread(s), load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}: ${sec1000Servers10Min.toFixed(1)} s wall (${cpuSec1000Servers10Min.toFixed(1)} s CPU), ${scale.events} events (${Math.round(eventsPerSec).toLocaleString()} events/s in the full model, ${Math.round(scale.events / cpuSec1000Servers10Min).toLocaleString()} per CPU second), offered ${scale.requestsPerSec.toFixed(0)} requests/s + ${scale.framesPerSec.toFixed(0)} frames/s, attainment ${scale.attainment.toFixed(3)}`);
console.log(`full model ÷ raw engine: ${(eventsPerSec / raw).toFixed(2)}`);

/** EPARA ÷ the best deployable baseline for the three mixes (quick sweeps to the collapse) and E2's device saving. */
function compareAll(ctx: ExperimentContext, tag: string, kinds: readonly ('mixed' | 'frequency' | 'latency')[], withDevices: boolean): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const kind of kinds) {
    const r = runLoadSweep(ctx, kind, `bench-${kind}`);
    out[kind] = r.figures['maxRatio'] as number | null;
    if (kind === 'mixed') {
      out['vsUpperBound'] = r.figures['vsUpperBound'] as number | null;
      out['minServiceAttainment'] = r.figures['minServiceAttainment'] as number | null;
      out['perBaselineMax'] = r.figures['perBaselineMax'] as string;
    }
    console.log(`${tag} ${kind}: EPARA ÷ best deployable per load point = ${r.figures['ratios']} (max ${out[kind]}); collapse at scale ${r.figures['collapseScale']}; EPARA ÷ each baseline, max over points: ${r.figures['perBaselineMax']}; EPARA ÷ upper bound at the collapse: ${r.figures['vsUpperBound']}; EPARA's worst service where the best deployable reaches 90 %: ${r.figures['minServiceAttainment']} (scale ${r.figures['minServiceScale']})`);
  }
  if (withDevices) {
    const e2 = runExperiment('e2', ctx);
    console.log(`${tag} GPUs for ≥ 90 %: EPARA ${e2.figures['eparaGpus90']}, best deployable ${e2.figures['bestDeployableGpus90']}; for ≥ 99 %: EPARA ${e2.figures['eparaGpus99']}, best deployable ${e2.figures['bestDeployableGpus99']}`);
    out['devices'] = e2.figures['deviceSaving99'] as number | null;
    out['devices90'] = e2.figures['deviceSaving90'] as number | null;
  }
  return out;
}

console.log(`machine load (uptime): ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const ratios = compareAll({ seed: 1, quick: true }, '[edge world]', ['mixed', 'frequency', 'latency'], true);
// Sensitivity kept from earlier runs (mixed only, to bound the bench's time): core routeRequest's stalenessFactor 0.
const trusting = compareAll({ seed: 1, quick: true, eparaRouteOptions: { stalenessFactor: 0 } }, '[stalenessFactor 0]', ['mixed'], false);

console.log(JSON.stringify({
  eventsPerSec: Math.round(eventsPerSec),
  eventsPerCpuSec: Math.round(scale.events / cpuSec1000Servers10Min),
  e6Events: scale.events,
  e6Workers: workers,
  rawEngineEventsPerSec: Math.round(raw),
  sec1000Servers10Min: Math.round(sec1000Servers10Min * 10) / 10,
  cpuSec1000Servers10Min: Math.round(cpuSec1000Servers10Min * 10) / 10,
  offeredRequestsPerSec: Math.round(scale.requestsPerSec),
  offeredFramesPerSec: Math.round(scale.framesPerSec),
  mixedGoodputRatio: ratios['mixed'],
  frequencyGoodputRatio: ratios['frequency'],
  latencyGoodputRatio: ratios['latency'],
  deviceSavingRatio: ratios['devices'],
  stalenessFactor0: { mixedGoodputRatio: trusting['mixed'], frequencyGoodputRatio: null, latencyGoodputRatio: null, deviceSavingRatio: null },
  mixedVsBestDeployable: ratios['mixed'],
  latencyVsBestDeployable: ratios['latency'],
  frequencyVsBestDeployable: ratios['frequency'],
  deviceSavingVsBestDeployable: ratios['devices'],
  deviceSaving90VsBestDeployable: ratios['devices90'],
  vsUpperBound: ratios['vsUpperBound'],
  minServiceAttainment: ratios['minServiceAttainment'],
  perBaselineMax: JSON.parse((ratios['perBaselineMax'] as string | null) ?? '{}') as unknown,
  chatTrace: AZURE_LLM_CONV_TRACE,
  baselines: DEPLOYABLE_BASELINES,
  loadAvg: loadavg().map((x) => Math.round(x * 10) / 10),
}));
