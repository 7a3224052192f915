import { createSeededRandom, isEparaError } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { sampleInterArrival } from './samplers.js';
import { nextArrivalMs } from './workload.js';
import { readTraceCsv, writeTraceCsv } from './trace-csv.js';
import { readAzureFunctionsTrace } from './azure-trace.js';

function stats(xs: number[]): { mean: number; cv: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, cv: Math.sqrt(v) / mean };
}

describe('arrival generators', () => {
  it.each([1, 2, 4])('gamma inter-arrivals keep the mean and reach the requested CV %d', (cv) => {
    const rng = createSeededRandom(3);
    const gaps = Array.from({ length: 60_000 }, () => sampleInterArrival(rng, 10, cv));
    const s = stats(gaps);
    expect(s.mean).toBeGreaterThan(9.5);
    expect(s.mean).toBeLessThan(10.5);
    expect(s.cv).toBeGreaterThan(cv * 0.9);
    expect(s.cv).toBeLessThan(cv * 1.1);
  });

  it('diurnal arrivals follow the sinusoidal rate (peak half vs trough half)', () => {
    const rng = createSeededRandom(5);
    const src = { service: 0, meanGapMs: 10, process: { kind: 'diurnal', periodMs: 100_000, amplitude: 0.5 } as const };
    let t = 0;
    let first = 0;
    let second = 0;
    while (t < 100_000) {
      t = nextArrivalMs(src, t, rng);
      if (t < 50_000) first++;
      else if (t < 100_000) second++;
    }
    expect(first + second).toBeGreaterThan(9000);
    expect(first + second).toBeLessThan(11_000);
    // ∫ over the first half-period of 1 + 0.5 sin is (1 + 1/π) × half: ratio (1 + 1/π)/(1 − 1/π) ≈ 1.93.
    expect(first / second).toBeGreaterThan(1.7);
    expect(first / second).toBeLessThan(2.2);
  });
});

describe('trace readers', () => {
  it('reads and writes the time_ms,service,origin CSV', () => {
    const rows = readTraceCsv('# comment\ntime_ms,service,origin\n20,llm-chat,s001\n5.5,seg-image,0\n\n');
    expect(rows).toEqual([{ timeMs: 5.5, service: 'seg-image', origin: 0 }, { timeMs: 20, service: 'llm-chat', origin: 's001' }]);
    expect(readTraceCsv(writeTraceCsv(rows))).toEqual(rows);
    expect(readTraceCsv('time_s,origin,service\n1.5,2,classify\n')).toEqual([{ timeMs: 1500, service: 'classify', origin: 2 }]);
  });

  it('names the line and field of a bad CSV row', () => {
    for (const [text, field] of [['time_ms,service\n1,a\n', 'trace.header.origin'], ['time_ms,service,origin\nx,a,0\n', 'trace line 2.time'], ['time_ms,service,origin\n1,,0\n', 'trace line 2.service']] as const) {
      let err: unknown;
      try {
        readTraceCsv(text);
      } catch (e) {
        err = e;
      }
      expect(isEparaError(err) && err.code === 'INVALID_OPTIONS' && err.details['field'] === field).toBe(true);
    }
  });

  it('reads the Azure Functions per-minute format, mapping functions to services and apps to origins', () => {
    const header = ['HashOwner', 'HashApp', 'HashFunction', 'Trigger', ...Array.from({ length: 1440 }, (_, i) => String(i + 1))].join(',');
    const row = (app: string, fn: string, counts: number[]): string => ['o', app, fn, 'http', ...counts, ...Array(1440 - counts.length).fill(0)].join(',');
    const text = [header, row('appA', 'f1', [3, 0, 2]), row('appB', 'f2', [1, 4])].join('\n');
    const rows = readAzureFunctionsTrace(text, { services: ['seg-image', 'classify'], mapping: { f1: 'llm-chat' }, originCount: 4, minutes: 3, minuteMs: 1000 });
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.service === 'llm-chat')).toHaveLength(5);
    expect(rows.filter((r) => r.timeMs < 1000)).toHaveLength(4);
    expect(new Set(rows.filter((r) => r.service === 'llm-chat').map((r) => r.origin)).size).toBe(1);
    expect(rows.every((r, i) => i === 0 || rows[i - 1]!.timeMs <= r.timeMs)).toBe(true);
    expect(() => readAzureFunctionsTrace(`${header}\n${row('a', 'f', [-1])}`, { services: ['x'], originCount: 1, minutes: 1 })).toThrow(/minute 1/);
  });
});
