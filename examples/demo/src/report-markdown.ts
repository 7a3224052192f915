import type { PlacedInstance } from '@epara/core';
import type { TritonConfig } from './baseline/triton-config.js';
import type { Calibration } from './calibrate.js';
import { formatKnee, type CapacityResult } from './capacity.js';
import type { Headline } from './headline.js';
import type { DemoService } from './services.js';
import { groupVerdictLines } from './group-verdict.js';
import { decisionRows, slackRows, sumDecisions } from './entry-decisions.js';
import { deviceUsageRows, sumDeviceUsage } from './device-usage.js';
import { batchRows, cpuAccountingRows, gcRows, trialRuns } from './cpu-accounting.js';
import { comparisonTable, cpuLine, entryTable, packLines, placementLines, serviceTable, streamServingTable, sumPacks, sumServed, table, tritonLines } from './format.js';
import type { ResolvedDemoOptions } from './options.js';
import { nodeIds } from './placement.js';
import { formatProfile, type DemoProfiles } from './profiles.js';
import type { MachineLoad } from './reliability.js';
import { finalTable, type RatioSpread, type TrialPair } from './summary.js';

const block = (lines: readonly string[]): string => ['```', ...lines, '```'].join('\n');

/** The run's report as markdown: setup, calibration, placements, the verdict with its range, every trial. */
export function reportMarkdown(r: {
  o: ResolvedDemoOptions;
  services: readonly DemoService[];
  calibration: Calibration;
  placement: readonly PlacedInstance[];
  triton: TritonConfig;
  measuredDelayMs: readonly (readonly number[])[];
  pairs: readonly TrialPair[];
  ratios: Readonly<Record<string, RatioSpread>>;
  machine: MachineLoad;
  profiles: DemoProfiles;
  capacity: CapacityResult | null;
  headline: Headline;
}): string {
  const ids = nodeIds(r.o.nodes);
  const m = r.machine;
  const verdict = m.reliable ? 'reliable (other processes used little of the machine during the trials)' : '**unreliable**: other processes competed for the cores during the trials; rerun on a quiet machine';
  const out = [
    '# EPARA demo report',
    '',
    `${new Date().toISOString()} — ${r.o.nodes} nodes per system (one OS process each), ${r.o.trials} interleaved trials × ${r.o.durationMs / 1000} s per system, seed ${r.o.seed}.`,
    '',
    `Machine: ${m.cores} cores, 1-minute load average ${m.loadAvg1.toFixed(2)} at the end; CPU used during the trials by other processes ${m.otherShare === null ? 'unknown' : `${(100 * m.otherShare).toFixed(0)}%`}, by the demo ${m.demoShare === null ? 'unknown' : `${(100 * m.demoShare).toFixed(0)}%`} — ${verdict}.`,
    '',
    '![goodput and attainment over time](chart.svg)',
    '',
    '## Does EPARA carry more load at the SLO?',
    '',
    block(r.headline.lines),
    '',
    '## Verdict (EPARA ÷ Triton-like goodput, median over trials and range)',
    '',
    block(finalTable(r.pairs)),
    '',
    'Where the items went, per service, all trials summed (late: ran and answered past the SLO; est. drops: refused or dropped before the SLO ran out, on an estimate that it could not be met; expired: dropped once the SLO had run out, or a stream refused whole):',
    '',
    block(lossTable(r.pairs)),
    '',
    '## Why each group was won or lost (all trials summed)',
    '',
    "Per service, how each system's items ended by the way they went (served at entry: where the client sent it; sent to a peer: offloaded, forwarded or a stream admitted at another server; refused at entry: refused before it ran, a stream refused whole; refused: by the server asked, without running; expired: dropped from a queue or stale once it could not make its SLO). EPARA's requests as its entries decided them, everything else as the clients counted it; hosts: where each system placed the service:",
    '',
    ...groupVerdictLines({ ratios: r.ratios, runs: { epara: r.pairs.map((p) => p.epara), triton: r.pairs.map((p) => p.triton) }, services: r.services, placement: r.placement, triton: r.triton, ids }),
    ...cpuSection(r.pairs, r.o.durationMs / 1000, ids),
    ...capacitySection(r.capacity),
    '## Setup',
    '',
    `Links: ${r.o.delayMs[0]}–${r.o.delayMs[1]} ms one way configured, ${r.o.bandwidthMbps} Mbit/s. Measured one-way (ms):`,
    '',
    block(r.measuredDelayMs.map((row, i) => `${ids[i]}: ${row.map((d, j) => (i === j ? '-' : d.toFixed(1))).join('  ')}`)),
    '',
    'Profiles (batch:ms, one 1-thread device):',
    '',
    block(r.services.map((s) => `${s.id.padEnd(6)} ${formatProfile(r.profiles[s.id])}`)),
    '',
    `Calibration: capacity ×${r.calibration.capacityLoad.toFixed(2)} the base mix; offered load ${(100 * r.calibration.fraction).toFixed(1)}% of it (×${r.calibration.load.toFixed(2)}); baseline max_queue_delay ${r.calibration.maxQueueDelayMs} ms.`,
    '',
    ...(r.calibration.searched ? [`The baseline's knee at its best max_queue_delay: ${formatKnee(r.calibration.knee)}.`, ''] : []),
    block(r.calibration.probes.map((p) => `${(100 * p.fraction).toFixed(1)}%  ×${p.load.toFixed(2)}  q${p.maxQueueDelayMs}  seed ${p.seed}  attainment ${(100 * p.attainment).toFixed(1)}%  goodput ${p.goodputPerSec.toFixed(0)}/s`)),
    '',
    'EPARA placement:',
    '',
    block(placementLines(r.placement)),
    '',
    'Triton-like configuration:',
    '',
    block(tritonLines(r.triton, ids)),
    '',
    ...allTrials(r.pairs, r.services, ids, r.measuredDelayMs),
    '## Trials',
  ];
  for (const p of r.pairs) {
    out.push('', `### Trial ${p.trial + 1} (seed ${p.seed}, ${p.order.join(' then ')})`, '', block(comparisonTable(p.epara.report, p.triton.report)), '', 'EPARA:', '', block(serviceTable(p.epara.report, r.services)), '', block(entryTable(p.epara, r.services, ids)), '', cpuLine(p.epara), '', 'Triton-like:', '', block(serviceTable(p.triton.report, r.services)), '', block(entryTable(p.triton, r.services, ids)), '', cpuLine(p.triton));
    const c = p.epara.counters;
    out.push('', `EPARA mesh: ${c['offloaded'] ?? 0} forwards, ${c['received'] ?? 0} received, ${c['rejected'] ?? 0} rejected at entry, ${c['syncRounds'] ?? 0} ring rounds.`);
    out.push(...breakdowns(p, r.services, ids, r.measuredDelayMs));
  }
  return `${out.join('\n')}\n`;
}

/** The capacity verdict: each system's bracket and the ratio of their highest passing loads. */
function capacitySection(c: CapacityResult | null): string[] {
  if (c === null) return [];
  const x = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}x`);
  return [
    '## Capacity at the SLO (highest offered load with ≥ 90% attainment)',
    '',
    block([`Triton-like: ${formatKnee(c.baseline)}`, `EPARA:       ${formatKnee(c.epara)}`, `ratio: ${x(c.ratio)} (bracket ${x(c.ratioMin)}–${x(c.ratioMax)})`]),
    '',
    'EPARA probes (a reading within 6 points of 90% is the mean of two workloads): ' + (c.epara.probes.map((p) => `${(100 * p.fraction).toFixed(1)}% → ${(100 * p.attainment).toFixed(1)}%`).join(', ') || 'none'),
    '',
    'EPARA probe runs, per service:',
    '',
    block(c.eparaRuns.map((r) => `${(100 * r.fraction).toFixed(1)}%  seed ${r.seed}  ${(100 * r.attainment).toFixed(1)}%  ${r.services}`)),
    '',
  ];
}

/**
 * The per-decision breakdowns of one trial: what each EPARA node decided for the requests entering there (served
 * locally with the estimate's wait, forwarded to which peer, refused) and how each decision fared; how stream
 * frames fared by where their stream was served, next to the link's round trip and the staleness budget (both
 * systems); and the batch (pack) sizes each EPARA device ran.
 */
function breakdowns(p: TrialPair, services: readonly DemoService[], ids: readonly string[], delaysMs: readonly (readonly number[])[]): string[] {
  const out: string[] = [];
  if (p.epara.decisions) {
    out.push('', 'EPARA, requests by entry and routing decision (latency and deadline at the node; est. wait: the local estimate at the decision, wherever the node hosts the service):', '', block(table(decisionRows(p.epara.decisions, ids))));
  }
  out.push('', 'Stream frames by entry and serving node (link RTT: twice the measured one-way delay; a frame is fresh within its staleness budget):', '', 'EPARA:', '', block(streamServingTable(p.epara, services, ids, delaysMs)), '', 'Triton-like:', '', block(streamServingTable(p.triton, services, ids, delaysMs)));
  if (p.epara.packs) out.push('', 'EPARA, batches and packs run per device:', '', block(packLines(p.epara.packs, ids)));
  if (p.epara.usage) out.push('', 'EPARA, device and event-loop time per node (shares of the run; run ÷ profile: time inside the backend against the profile measured on an idle device; estimate ÷ profile: the executor\'s estimate of the same batches, with what it learned of their hold time; queue wait: queued to dispatched):', '', block(table(deviceUsageRows(p.epara.usage, ids))));
  return out;
}

/** The breakdowns summed over every trial: counts large enough to read where each system serves and loses. */
function allTrials(pairs: readonly TrialPair[], services: readonly DemoService[], ids: readonly string[], delaysMs: readonly (readonly number[])[]): string[] {
  if (pairs.length === 0) return [];
  const decisions = pairs.flatMap((p) => (p.epara.decisions ? [p.epara.decisions] : []));
  const packs = pairs.flatMap((p) => (p.epara.packs ? [p.epara.packs] : []));
  const usage = pairs.flatMap((p) => (p.epara.usage ? [p.epara.usage] : []));
  return [
    '## Where each request and stream was served (all trials summed)',
    '',
    'EPARA, requests by entry and routing decision (latency and deadline at the node; est. wait: the local estimate at the decision, wherever the node hosts the service):',
    '',
    block(table(decisionRows(sumDecisions(decisions), ids))),
    '',
    "EPARA, requests served where they entered, by the local estimate's wait at the decision ÷ the request's budget (whether the ones admitted close to their deadline are the ones lost; dropped: by the executor, mostly expired in the queue):",
    '',
    block(table(slackRows(sumDecisions(decisions), ids))),
    '',
    'Stream frames by entry and serving node (link RTT: twice the measured one-way delay; a frame is fresh within its staleness budget). EPARA:',
    '',
    block(streamServingTable(sumServed(pairs.map((p) => p.epara)), services, ids, delaysMs)),
    '',
    'Triton-like:',
    '',
    block(streamServingTable(sumServed(pairs.map((p) => p.triton)), services, ids, delaysMs)),
    '',
    'EPARA, batches and packs run per device:',
    '',
    block(packLines(sumPacks(packs), ids)),
    '',
    'EPARA, device and event-loop time per node (shares of the run; run ÷ profile: time inside the backend against the profile measured on an idle device; estimate ÷ profile: the executor\'s estimate of the same batches, with what it learned of their hold time; queue wait: queued to dispatched):',
    '',
    block(table(deviceUsageRows(sumDeviceUsage(usage), ids))),
    '',
  ];
}

/** Where the host's CPU went over the trials, per system, role and thread, and the batches each device ran. */
function cpuSection(pairs: readonly TrialPair[], seconds: number, ids: readonly string[]): string[] {
  const runs = trialRuns(pairs, seconds);
  const { rows, check } = cpuAccountingRows(runs);
  if (rows.length === 0) return [];
  return [
    "## Where the host's CPU went (all trials summed)",
    '',
    "CPU ms per good item of the system's trials, by process role and thread (main: the event loop — mesh or load balancer, entry, estimates; device: the worker running the backend; other: V8's garbage collector and compiler, libuv's pool), and each role's share of the machine over those runs; `(idle)`: the other system's nodes, waiting:",
    '',
    block(rows),
    '',
    ...check.map((line) => `- ${line}`),
    '',
    ...gcSection(gcRows(runs)),
    "Batches each node's device ran per service (chat's generation steps not counted), per second of the trials, and their mean size:",
    '',
    block(batchRows(runs, ids)),
    '',
  ];
}

/** The collections behind the `other threads` column (gc-meter.ts), when the runs counted them. */
function gcSection(rows: readonly string[]): string[] {
  if (rows.length === 0) return [];
  return [
    "Garbage collection over the system's trials, by process role: collections per 1,000 good items (scavenge: the young generation; mark-compact: the whole heap), their pauses on the main thread, and the bytes allocated per good item in V8's heap and outside it (external: ArrayBuffers — tensors, frames, socket reads), as V8's collection statistics give them:",
    '',
    block(rows),
    '',
  ];
}

/** Per system and service, summed over the trials: offered, good, late, estimate drops, expired. */
export function lossTable(pairs: readonly TrialPair[]): string[] {
  const rows: string[][] = [['system', 'service', 'offered', 'good', 'late', 'est. drops', 'expired']];
  for (const system of ['epara', 'triton'] as const) {
    const sums = new Map<string, number[]>();
    for (const p of pairs) {
      for (const s of p[system].report.services) {
        const v = sums.get(s.serviceId) ?? [0, 0, 0, 0, 0];
        [s.offered, s.good, s.late, s.droppedEarly, s.expired].forEach((x, i) => (v[i]! += x));
        sums.set(s.serviceId, v);
      }
    }
    for (const [id, v] of sums) rows.push([system === 'epara' ? 'EPARA' : 'Triton-like', id, ...v.map(String)]);
  }
  return table(rows);
}
