import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimReport } from './main.js';

describe('examples/sim-report', () => {
  it('runs a short scenario for every system and writes markdown, JSON and SVG', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'sim-report-'));
    const { files, results } = runSimReport({ outDir, seconds: 8, scale: 2 });
    expect(results.map((r) => r.system)).toEqual(['epara', 'triton', 'ray-serve', 'centralized', 'oracle']);
    for (const r of results) expect(r.total.good + r.total.late + r.total.dropped).toBe(r.total.offered);
    expect(files.map((f) => f.slice(outDir.length + 1)).sort()).toEqual(['report.json', 'report.md', 'timeline.svg']);
    expect(readFileSync(join(outDir, 'report.md'), 'utf8')).toContain('| EPARA |');
    expect(readFileSync(join(outDir, 'timeline.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
  });
});
