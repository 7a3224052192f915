import { allocate, deviceKindsOf } from '@epara/core';
import { buildServers } from '../model/hardware.js';
import { SERVICE_CATALOG } from '../model/services.js';
import { bundledAzureLlmTrace, readAzureLlmTrace } from '../workload/azure-llm-trace.js';
import type { WorkloadSpec } from '../workload/workload.js';
import type { ExperimentReport } from '../report/types.js';
import { RunCounter, TESTBED, r3, runContender, runsOf, type Contender, type ExperimentContext } from './common.js';

const LARGE_LLM_RATE = 0.4;

/** The multi-device case: a memory-bound LLM (trace-driven) and a compute-bound stream. */
function multiDeviceCase(durationMs: number): { name: string; workload: WorkloadSpec; demand: Record<string, number> } {
  const text = bundledAzureLlmTrace();
  const all = readAzureLlmTrace(text);
  const recorded = all.length / (all[all.length - 1]!.timeMs / 1000);
  const trace = readAzureLlmTrace(text, { service: 'llm-large', speedup: LARGE_LLM_RATE / recorded, durationMs });
  return { name: 'multi-device: 40 GB LLM and 30 fps 4K streams', workload: { origins: 'clients', trace, streams: [{ service: 'stream-4k', concurrentStreams: 2 }] }, demand: { 'llm-large': LARGE_LLM_RATE, 'stream-4k': 60 } };
}

const CASES: ReadonlyArray<{ name: string; workload: WorkloadSpec; demand: Record<string, number> }> = [
  { name: 'segmentation: image vs video', workload: { origins: 'clients', requests: [{ service: 'seg-image', ratePerSec: 300, process: { kind: 'gamma', cv: 2 } }], streams: [{ service: 'seg-video', concurrentStreams: 30 }] }, demand: { 'seg-image': 300, 'seg-video': 450 } },
  { name: 'LLM: chat vs HCI', workload: { origins: 'clients', requests: [{ service: 'llm-chat', ratePerSec: 14, process: { kind: 'gamma', cv: 1.5 } }], streams: [{ service: 'hci', concurrentStreams: 40 }] }, demand: { 'llm-chat': 14, hci: 400 } },
];

const SYSTEMS: readonly Contender[] = [
  { label: 'EPARA', spec: { kind: 'epara' } },
  { label: 'EPARA, one mode for all (no categorization)', spec: { kind: 'epara', categorize: false } },
  { label: 'Triton per site + LB', spec: { kind: 'triton' } },
  { label: 'Ray-Serve-like', spec: { kind: 'ray-serve' } },
  { label: 'Centralized SLO scheduler', spec: { kind: 'centralized' } },
];

/** E8: the mode core `allocate` gives each category, and what it buys against one-size-fits-all serving. */
export function runE8(ctx: ExperimentContext): ExperimentReport {
  const started = performance.now();
  const durationMs = ctx.quick ? 20_000 : 60_000;
  const cases = [...CASES, multiDeviceCase(durationMs)];
  const counter = new RunCounter(ctx, cases.length * SYSTEMS.reduce((n, c) => n + runsOf(c), 0));
  const kinds = deviceKindsOf(buildServers(TESTBED, 50).map((s) => s.spec));
  const modes: (string | number)[][] = [];
  const results: (string | number)[][] = [];
  const figures: Record<string, number> = {};
  const deployed: (string | number)[][] = [];
  for (const c of cases) {
    for (const [id, demand] of Object.entries(c.demand)) {
      const a = allocate({ service: SERVICE_CATALOG[id]!.spec, demand, deviceKinds: kinds });
      const best = a.plans[0];
      modes.push([c.name, id, `${a.category.sensitivity}/${a.category.devices}${a.category.reason ? ` (${a.category.reason})` : ''}`, best ? `${best.requestStrategy} × ${best.serviceStrategy}` : 'none', best ? `${best.deviceKind}, ${best.devices} device(s), size ${best.batchSize}` : '', best ? r3(best.capacityPerSec) : 0]);
    }
    const base = { name: `e8-${c.name}`, seed: ctx.seed, durationMs, warmupMs: 5000, cluster: { groups: TESTBED }, workload: c.workload };
    const rs = SYSTEMS.map((s) => runContender(base, s, counter));
    for (const r of rs) {
      const per = Object.entries(r.result.perService).map(([k, v]) => `${k}: ${r3(v.sloAttainment)}`).join(', ');
      results.push([c.name, r.label, r3(r.result.total.goodputPerSec), r3(r.result.total.sloAttainment), per]);
      const modes = r.result.instanceModes;
      deployed.push([c.name, r.label, Object.entries(modes).map(([k, v]) => `${k}: ${v}`).join('; ')]);
    }
    for (const r of rs) figures[`${c.name}.${r.label}.minServiceAttainment`] = r3(Math.min(...Object.values(r.result.perService).filter((v) => v.offered > 0).map((v) => v.sloAttainment)));
    figures[`${c.name}.eparaOverOneMode`] = r3(rs[0]!.result.total.goodputPerSec / Math.max(1e-9, rs[1]!.result.total.goodputPerSec));
  }
  return {
    id: 'e8', title: 'Case studies: image vs video segmentation, LLM chat vs HCI', question: 'Which mode does each category get, and what does categorization buy?',
    seed: ctx.seed, quick: ctx.quick,
    setup: ['Same model family per case, two categories: seg-image (latency) vs seg-video (frequency, 15 fps streams); llm-chat (latency, 8B) vs hci (frequency, 1B, 10 Hz loops).', `Multi-device case: llm-large (40 GB FP16: no edge GPU holds it; chat replayed from the Azure trace at ${LARGE_LLM_RATE} requests/s) and two 30 fps stream-4k streams (one GPU does at most 25 fps).`, 'Modes are what core `allocate` ranks first at the case demand on the testbed device kinds. Baselines deploy the large LLM tensor/pipeline parallel over one server\'s GPUs (as TensorRT-LLM or vLLM would) and send 4K frames as independent requests over replicas.'],
    tables: [
      { title: 'Mode per category (core allocate, best plan)', columns: ['case', 'service', 'category', 'mode', 'device / size', 'capacity items/s'], rows: modes },
      { title: 'What each system deployed at the end of the run (instances by mode)', columns: ['case', 'system', 'instances'], rows: deployed },
      { title: 'Goodput', columns: ['case', 'system', 'goodput/s', 'SLO attainment', 'per service attainment'], rows: results },
    ],
    charts: [],
    notes: ['Latency services get deadline-bounded batching (data parallel when one device cannot keep up); frequency services get multi-frame packs sized by the rate and staleness limit, pinned per stream.'],
    figures,
    wallMs: performance.now() - started,
  };
}
