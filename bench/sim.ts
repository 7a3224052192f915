/**
 * `pnpm bench:sim`: simulator speed and EPARA's goodput against the best baseline on the same workload and
 * seed. Last line: one JSON object with the figures issue 6 names.
 */
import { createEventQueue, runLoadSweep, runExperiment, runScalePoint } from '../packages/sim/dist/index.js';

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

// 1000 servers: 60 simulated seconds measured, the 10-minute figure extrapolated linearly (time is linear in
// simulated time at a steady load; the run itself would exceed this bench's budget on a shared 2-core machine).
const simSec = 60;
const scale = runScalePoint(1000, simSec * 1000, 1);
const sec1000Servers10Min = (scale.wallMs / 1000) * (600 / simSec);
const eventsPerSec = scale.events / (scale.wallMs / 1000);
console.log(`1000 servers × ${simSec} s simulated: ${(scale.wallMs / 1000).toFixed(1)} s wall, ${scale.events} events (${Math.round(eventsPerSec)} events/s in the full model), offered ${scale.requestsPerSec.toFixed(0)} requests/s + ${scale.framesPerSec.toFixed(0)} frames/s, attainment ${scale.attainment.toFixed(3)}`);
console.log(`→ 1000 servers × 10 simulated minutes ≈ ${sec1000Servers10Min.toFixed(1)} s (extrapolated ×${600 / simSec})`);

const ctx = { seed: 1, quick: true };
const ratios: Record<string, number | null> = {};
for (const kind of ['mixed', 'frequency', 'latency'] as const) {
  const r = runLoadSweep(ctx, kind, `bench-${kind}`);
  ratios[kind] = r.figures['maxRatio'] as number | null;
  console.log(`${kind}: EPARA ÷ best baseline per load point = ${r.figures['ratios']} (max ${ratios[kind]})`);
}
const e2 = runExperiment('e2', ctx);
console.log(`devices for ≥ 99 % attainment: EPARA ${e2.figures['eparaGpus']}, best baseline ${e2.figures['bestBaselineGpus']}`);

console.log(JSON.stringify({
  eventsPerSec: Math.round(eventsPerSec),
  rawEngineEventsPerSec: Math.round(raw),
  sec1000Servers10Min: Math.round(sec1000Servers10Min * 10) / 10,
  mixedGoodputRatio: ratios['mixed'],
  frequencyGoodputRatio: ratios['frequency'],
  latencyGoodputRatio: ratios['latency'],
  deviceSavingRatio: e2.figures['deviceSavingRatio'],
}));
