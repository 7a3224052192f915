import { describe, expect, it } from 'vitest';
import { batchRows, cpuAccountingRows, cpuPerItemLine, gcRows, splitThreads, type AccountedRun, type RunCpu } from './cpu-accounting.js';

describe('splitThreads', () => {
  it('takes the pid as the main thread, the busiest other thread as the device, and counts a new thread from zero', () => {
    const before = { '100': 1000, '101': 500, '102': 40 };
    const after = { '100': 1300, '101': 1400, '102': 60, '103': 25 };
    expect(splitThreads(100, before, after, true)).toEqual({ main: 300, device: 900, other: 45 });
    // A client has no device: every other thread is `other`.
    expect(splitThreads(100, before, after, false)).toEqual({ main: 300, device: 0, other: 945 });
  });
});

const cpu = (processes: RunCpu['processes'], machineBusyMs: number | null): RunCpu => ({ wallMs: 10_000, cores: 2, machineBusyMs, orchestratorMs: 100, processes });

describe('cpuAccountingRows', () => {
  const epara: AccountedRun = {
    system: 'epara',
    good: 1000,
    seconds: 10,
    cpu: cpu({ 'edge-0': { main: 2000, device: 3000, other: 500 }, 'edge-1': { main: 1000, device: 1000, other: 0 }, 'triton-0': { main: 50, device: 0, other: 0 }, 'client-0': { main: 800, device: 0, other: 200 }, wire: { main: 350, device: 0, other: 0 } }, 12_000),
    nodeBatches: [{ vad: { batches: 400, items: 500 } }, { image: { batches: 20, items: 60 } }],
  };
  const triton: AccountedRun = {
    system: 'triton',
    good: 2000,
    seconds: 10,
    cpu: cpu({ 'triton-0': { main: 1000, device: 2000, other: 0 }, 'edge-0': { main: 100, device: 0, other: 0 }, 'client-0': { main: 1000, device: 0, other: 0 } }, 4000),
    nodeBatches: [{ vad: { batches: 100, items: 400 } }],
  };

  it('gives CPU ms per good item per role and thread, the idle system apart, and the machine against the rows', () => {
    const { rows, check } = cpuAccountingRows([epara, triton]);
    const row = (system: string, role: string): string[] => rows.find((l) => l.startsWith(system) && l.includes(`  ${role}  `))!.split(/\s{2,}/);
    // EPARA nodes: main 3000, device 4000, other 500 ms over 1000 good items; 7500 of 20,000 core-ms.
    expect(row('EPARA', 'EPARA nodes')).toEqual(['EPARA', 'EPARA nodes', '2', '3.00', '4.00', '0.50', '7.50', '37.5%']);
    expect(row('EPARA', 'baseline sites (idle)').slice(1)).toEqual(['baseline sites (idle)', '1', '0.05', '0.00', '0.00', '0.05', '0.3%']);
    expect(row('Triton-like', 'baseline sites').slice(3, 7)).toEqual(['0.50', '1.00', '0.00', '1.50']);
    expect(row('Triton-like', 'demo main process').slice(6)).toEqual(['0.05', '0.5%']);
    // The demo's processes: 7500 + 50 + 1000 + 350 + 100 = 9000 ms of the machine's 12,000 busy.
    expect(check[0]).toContain('the machine was busy 12.0 core-s of 20.0 core-s (60%): the demo\'s processes 9.0 core-s (the rows above), other processes 3.0 core-s');
    // Rows summing past the machine's busy time are flagged.
    expect(check[1]).toContain('the rows exceed the machine');
  });

  it('says when the machine total is not known, and gives nothing without readings', () => {
    expect(cpuAccountingRows([{ ...epara, cpu: { ...epara.cpu!, machineBusyMs: null } }]).check[0]).toContain('not known');
    expect(cpuAccountingRows([{ system: 'epara', good: 1, seconds: 1 }])).toEqual({ rows: [], check: [] });
  });

  it('lists batches per second and the mean batch per node and service, and the final table\'s line', () => {
    const lines = batchRows([epara, triton], ['edge-0', 'edge-1']);
    expect(lines.find((l) => l.startsWith('EPARA') && l.includes('vad'))!.split(/\s{2,}/)).toEqual(['EPARA', 'edge-0', 'vad', '40.0', '1.25']);
    expect(lines.find((l) => l.startsWith('EPARA') && l.includes('image'))!.split(/\s{2,}/)).toEqual(['EPARA', 'edge-1', 'image', '2.0', '3.00']);
    expect(lines.find((l) => l.startsWith('Triton-like'))!.split(/\s{2,}/)).toEqual(['Triton-like', 'edge-0', 'vad', '10.0', '4.00']);
    expect(cpuPerItemLine([epara, triton])).toBe('CPU ms per good item over the trials: EPARA nodes 7.50 (main 3.00, device 4.00), its clients 1.00; baseline sites 1.50 (main 0.50, device 1.00), its clients 0.50');
  });
  it('gives collections per 1,000 good items and bytes per good item, per system and role', () => {
    const g = (scavenges: number, markCompacts: number, heapBytes: number, externalBytes: number) => ({ scavenges, markCompacts, incrementalSteps: 0, pauseMs: scavenges, heapBytes, externalBytes });
    const withGc = (r: AccountedRun, gc: NonNullable<RunCpu['gc']>): AccountedRun => ({ ...r, cpu: { ...r.cpu!, gc } });
    const rows = gcRows([withGc(epara, { 'edge-0': g(30, 2, 512_000, 1_024_000), 'edge-1': g(10, 0, 0, 0), 'client-0': g(5, 0, 10_240, 0) }), withGc(triton, { 'triton-0': g(8, 1, 204_800, 2_048_000) })]);
    const row = (system: string, role: string): string[] => rows.find((l) => l.startsWith(system) && l.includes(`  ${role}  `))!.split(/\s{2,}/);
    // EPARA: 40 scavenges and 2 mark-compacts over 1000 good items; 500 KiB of heap and 1000 KiB external.
    expect(row('EPARA', 'EPARA nodes')).toEqual(['EPARA', 'EPARA nodes', '40.0', '2.0', '0.040', '0.5', '1.0']);
    expect(row('EPARA', 'clients').slice(2)).toEqual(['5.0', '0.0', '0.005', '0.0', '0.0']);
    expect(row('Triton-like', 'baseline sites').slice(2)).toEqual(['4.0', '0.5', '0.004', '0.1', '1.0']);
    expect(gcRows([epara, triton])).toEqual([]);
  });
});
