import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSvgChart, runExperiment, writeReport } from '@epara/sim';
import { describe, expect, it } from 'vitest';

describe('experiments and reports', () => {
  it('E8 (quick) reports the mode core allocate gives each category and writes a deterministic report', () => {
    const runs: number[] = [];
    const report = runExperiment('e8', { seed: 3, quick: true, onRun: (done) => runs.push(done) });
    expect(runs.at(-1)).toBe(runs.length);
    const modes = report.tables[0]!.rows;
    const modeOf = (id: string): string => String(modes.find((r) => r[1] === id)![3]);
    expect(modeOf('seg-image')).toMatch(/^batching/);
    expect(modeOf('seg-video')).toMatch(/^multi-frame/);
    expect(modeOf('llm-chat')).toMatch(/^batching/);
    expect(modeOf('hci')).toMatch(/^multi-frame/);
    const dir = mkdtempSync(join(tmpdir(), 'e8-'));
    writeReport(report, dir);
    const again = runExperiment('e8', { seed: 3, quick: true });
    const dir2 = mkdtempSync(join(tmpdir(), 'e8b-'));
    writeReport(again, dir2);
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toBe(readFileSync(join(dir2, 'report.json'), 'utf8'));
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('| case | service | category | mode |');
    // Two full E8 runs: 17–22 s alone on the shared machine, over 30 s next to other test files.
  }, 120_000);

  it('renders a readable SVG line chart with one polyline and legend entry per series', () => {
    const svg = renderSvgChart({ id: 'c', title: 'T <1>', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[0, 1], [1, 3]] }, { name: 'b', points: [[0, 2], [1, 0]] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('T &lt;1&gt;');
    expect(svg).toContain('>a</text>');
  });
});
