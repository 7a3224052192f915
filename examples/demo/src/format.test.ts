import { describe, expect, it } from 'vitest';
import type { DemoServiceInfo } from './catalog.js';
import { cpuLine, entryTable, packLines, streamServingTable, sumServed } from './format.js';
import type { SystemReport } from './report.js';
import type { ServiceTally } from './tally.js';

const services: DemoServiceInfo[] = [
  { id: 'image', title: 'images', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 300 }, traffic: 'request' },
  { id: 'vad', title: 'audio', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 100 }, traffic: 'stream' },
];
const tally = (t: Partial<ServiceTally>): ServiceTally => ({ offered: 0, good: 0, late: 0, dropped: {}, droppedEarly: 0, latencies: [], offloads: 0, servedAt: {}, servedOutcome: {}, ...t });

describe('entryTable', () => {
  it('lists each service per entry node with its losses, offloads and where its streams were served', () => {
    const lines = entryTable(
      {
        byEntry: [
          { image: tally({ offered: 10, good: 8, late: 1, dropped: { OVERLOADED: 1 } }), vad: tally({ offered: 100, good: 50, offloads: 100, servedAt: { 2: 100 }, dropped: { STALE_FRAME: 50 } }) },
          { image: tally({}), vad: tally({ offered: 100, good: 90, servedAt: { 1: 100 }, dropped: { STALE_FRAME: 10 } }) },
        ],
        // Node 0 forwarded 3 image requests; the baseline's node counts a relayed sequence once.
        nodeOffloads: [{ image: 3, vad: 1 }, {}],
      },
      services,
      ['edge-0', 'edge-1', 'edge-2'],
    );
    expect(lines[0]).toMatch(/^service +enters at +offered +good +late +SLO att\. +offloads +streams served at +dropped by code$/);
    expect(lines).toHaveLength(4); // no row for a service nothing entered at
    expect(lines[1]).toMatch(/^image +edge-0 +10 +8 +1 +80\.0% +3 +- +OVERLOADED:1$/);
    expect(lines[2]).toMatch(/^vad +edge-0 +100 +50 +0 +50\.0% +100 +edge-2:100 +STALE_FRAME:50$/);
    expect(lines[3]).toMatch(/^vad +edge-1 +100 +90 +0 +90\.0% +0 +edge-1:100 +STALE_FRAME:10$/);
  });
});

describe('streamServingTable and packLines', () => {
  it('puts the link round trip next to how the frames served away from their entry fared', () => {
    const run = {
      byEntry: [
        { image: tally({}), vad: tally({ servedOutcome: { 0: { good: 3, late: 1, dropped: 0, latencies: [10, 20, 30, 150] }, 2: { good: 1, late: 1, dropped: 2, latencies: [60, 120] } } }) },
        { image: tally({}), vad: tally({}) },
      ],
    };
    const lines = streamServingTable(sumServed([run, run]), services, ['edge-0', 'edge-1', 'edge-2'], [[0, 6, 20], [6, 0, 6], [20, 6, 0]]);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^vad +edge-0 +edge-0 +0\.0 +100 +8 +6 +2 +0 +75\.0% +20 +150$/);
    expect(lines[2]).toMatch(/^vad +edge-0 +edge-2 +40\.0 +100 +8 +2 +2 +4 +25\.0% +60 +120$/);
  });

  it('gives the batch sizes of each device and their mean', () => {
    const lines = packLines([{ vad: { 1: 6, 4: 2 } }], ['edge-0']);
    expect(lines[1]).toMatch(/^edge-0 +vad +8 +1\.75 +1×6 4×2$/);
  });
});

describe('cpuLine', () => {
  it('gives each process its share of one core, and a node its event loop\'s share next to it', () => {
    const report = { services: [{ offered: 300 }, { offered: 100 }] } as unknown as SystemReport;
    const line = cpuLine({ cpuMs: { 'edge-0': 500, 'client-0': 100 }, mainThreadCpuMs: { 'edge-0': 300 }, wallMs: 1000, report });
    expect(line).toBe('CPU (share of one core): edge-0 50% (event loop 30%), client-0 10%; 1.50 ms of CPU per offered item');
  });
});
