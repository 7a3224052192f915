import { describe, expect, it } from 'vitest';
import { areaOf, profileLines, summarizeProfile, type CpuProfile } from './cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0 });

/**
 * (root) → onFrame (mesh transport) → decodeFrame (mesh codec); (root) → (garbage collector); (root) → (idle).
 * Samples: decodeFrame 2×, onFrame 1×, GC 1×, idle 1×; each 1 ms (the time until the next sample).
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 4, 5] },
    { id: 2, callFrame: frame('onFrame', '/repo/packages/mesh/src/transport/create-connection.ts'), children: [3] },
    { id: 3, callFrame: frame('decodeFrame', '/repo/packages/mesh/src/protocol/frame-codec.ts') },
    { id: 4, callFrame: frame('(garbage collector)', '') },
    { id: 5, callFrame: frame('(idle)', '') },
  ],
  samples: [3, 3, 2, 4, 5],
  timeDeltas: [0, 1000, 1000, 1000, 1000],
};

describe('cpu profile summary', () => {
  it('names areas by source path, and V8 frames by themselves', () => {
    expect(areaOf({ file: '/repo/packages/mesh/src/sync/ring-sync.ts', name: 'receive' })).toBe('mesh ring sync/view');
    expect(areaOf({ file: '/repo/packages/runtime/src/executor/executor.ts', name: 'estimate' })).toBe('runtime executor/batching');
    expect(areaOf({ file: '/repo/examples/demo/src/cluster/entry.ts', name: 'x' })).toBe('demo entry');
    expect(areaOf({ file: '/repo/node_modules/.pnpm/ws@8.23.0/node_modules/ws/lib/receiver.js', name: 'consume' })).toBe('ws (WebSocket library)');
    expect(areaOf({ file: '', name: '(garbage collector)' })).toBe('(garbage collector)');
    expect(areaOf({ file: '', name: 'writev' })).toBe('native');
  });

  it('sums self time per area and function, and time under each area, leaving idle out', () => {
    const s = summarizeProfile(profile);
    // The last sample (idle) lasts as long as its own delta; it is left out.
    expect(s.busyMs).toBeCloseTo(4);
    expect(s.selfByArea).toEqual({ 'mesh wire/codec': 2, 'mesh transport': 1, '(garbage collector)': 1 });
    expect(s.inclusiveByArea['mesh transport']).toBe(3);
    expect(s.inclusiveByArea['mesh wire/codec']).toBe(2);
    expect(s.selfByFunction['decodeFrame (packages/mesh/src/protocol/frame-codec.ts)']).toBe(2);
    // onFrame's own sample and the two under it; (root) is no function.
    expect(s.inclusiveByFunction['onFrame (packages/mesh/src/transport/create-connection.ts)']).toBe(3);
    expect(s.inclusiveByFunction['decodeFrame (packages/mesh/src/protocol/frame-codec.ts)']).toBe(2);
    expect(Object.keys(s.inclusiveByFunction).some((k) => k.startsWith('(root)'))).toBe(false);
  });

  it('reads each area as its share of the profile times the CPU time measured apart', () => {
    const lines = profileLines(summarizeProfile(profile), 2, 5, 2);
    // 4 ms of samples stand for 2 ms of CPU: the codec's half is 1 ms, over 2 items 500 µs each.
    expect(lines[0]).toMatch(/^ +1000\.0 µs per item \(2 items; CPU time/);
    expect(lines.find((l) => l.includes('mesh wire/codec'))).toMatch(/500\.0 µs \| +500\.0 µs/);
  });
});
