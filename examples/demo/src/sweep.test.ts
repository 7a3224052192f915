import { describe, expect, it } from 'vitest';
import { DEMO_DEFAULTS, parseDemoArgs, resolveDemoOptions } from './options.js';
import { sweepLine, sweepRow, sweepTable, type SweepRow } from './sweep.js';

const row = (load: number, epara: number, triton: number): SweepRow => ({
  load,
  eparaGoodputPerSec: epara,
  tritonGoodputPerSec: triton,
  ratio: triton > 0 ? epara / triton : null,
  eparaAttainment: epara / 1000,
  tritonAttainment: triton / 1000,
  machineLoad: 1.5,
});

describe('demo sweep', () => {
  it('parses --sweep and --loads (which implies --sweep) and keeps single runs the default', () => {
    expect(parseDemoArgs(['--', '--sweep'])).toMatchObject({ sweep: true, loads: undefined });
    expect(parseDemoArgs(['--loads', '2,4.5,6'])).toMatchObject({ sweep: true, loads: [2, 4.5, 6] });
    expect(parseDemoArgs(['--load', '3'])).toMatchObject({ sweep: false, options: { load: 3 } });
    expect(resolveDemoOptions({}).load).toBe(DEMO_DEFAULTS.load);
  });

  it('rejects a bad load of a sweep with INVALID_OPTIONS naming the field', () => {
    expect(() => resolveDemoOptions({ load: Number('x') })).toThrow(/load/);
  });

  it('lays out one row per load with both goodputs, the ratio and both attainments, and a JSON line', () => {
    const lines = sweepTable([row(1, 500, 500), row(6, 900, 90), row(8, 10, 0)]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^load\s+EPARA goodput\/s\s+Triton-like goodput\/s\s+ratio/);
    expect(lines[1]).toMatch(/^×1\s+500\.0\s+500\.0\s+1\.00x\s+50\.0%\s+50\.0%\s+1\.5$/);
    expect(lines[2]).toMatch(/10\.00x/);
    expect(lines[3]).toMatch(/\binf\b/);
    const json = JSON.parse(sweepLine([row(6, 900, 90)], 10)) as { demo: string; rows: { load: number; ratio: number }[] };
    expect(json.demo).toBe('epara-sweep');
    expect(json.rows[0]).toMatchObject({ load: 6, ratio: 10 });
  });

  it('reads a run\'s overall figures from its JSON line, and fails with INTERNAL on anything else', () => {
    const line = JSON.stringify({ load: 4, ratios: { overall: { goodput: 0.9 } }, epara: { goodputPerSec: 864.4, attainment: 0.895 }, tritonLike: { goodputPerSec: 958.7, attainment: 0.993 } });
    expect(sweepRow(line)).toMatchObject({ load: 4, eparaGoodputPerSec: 864.4, tritonGoodputPerSec: 958.7, ratio: 0.9, eparaAttainment: 0.895, tritonAttainment: 0.993 });
    expect(() => sweepRow('Error: worker crashed')).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
