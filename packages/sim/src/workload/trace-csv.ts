import { EparaError } from '@epara/core';
import type { TraceRow } from './workload.js';

/**
 * Reads a request trace in CSV: a header naming the columns, then one row per request. Columns (any order):
 * `time_ms` (or `time_s`, seconds), `service`, `origin` (a server index or id). Blank lines and lines
 * starting with `#` are skipped. Rows are returned sorted by time.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the line and field for a missing column, a bad time or an
 * empty service.
 * @example
 * ```ts
 * readTraceCsv('time_ms,service,origin\n0,seg-image,0\n12.5,llm-chat,s003\n');
 * ```
 */
export function readTraceCsv(text: string): TraceRow[] {
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (headerAt < 0) throw new EparaError('INVALID_OPTIONS', 'trace CSV is empty', { field: 'trace' });
  const header = lines[headerAt]!.split(',').map((h) => h.trim().toLowerCase());
  const timeCol = header.indexOf('time_ms') >= 0 ? header.indexOf('time_ms') : header.indexOf('time_s');
  const seconds = header.indexOf('time_ms') < 0;
  const serviceCol = header.indexOf('service');
  const originCol = header.indexOf('origin');
  for (const [name, col] of [['time_ms', timeCol], ['service', serviceCol], ['origin', originCol]] as const) {
    if (col < 0) throw new EparaError('INVALID_OPTIONS', `trace CSV header lacks column "${name}"`, { field: `trace.header.${name}`, value: lines[headerAt] });
  }
  const rows: TraceRow[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',');
    const where = `trace line ${i + 1}`;
    const t = Number(cells[timeCol]);
    if (cells[timeCol] === undefined || !Number.isFinite(t) || t < 0) {
      throw new EparaError('INVALID_OPTIONS', `${where}: time must be a finite number >= 0, got ${JSON.stringify(cells[timeCol])}`, { field: `${where}.time`, value: cells[timeCol] });
    }
    const service = (cells[serviceCol] ?? '').trim();
    if (service === '') throw new EparaError('INVALID_OPTIONS', `${where}: service is empty`, { field: `${where}.service` });
    const rawOrigin = (cells[originCol] ?? '').trim();
    if (rawOrigin === '') throw new EparaError('INVALID_OPTIONS', `${where}: origin is empty`, { field: `${where}.origin` });
    const origin = /^\d+$/.test(rawOrigin) ? Number(rawOrigin) : rawOrigin;
    rows.push({ timeMs: seconds ? t * 1000 : t, service, origin });
  }
  return rows.sort((a, b) => a.timeMs - b.timeMs);
}

/** Writes trace rows as CSV with the header `time_ms,service,origin` (the format {@link readTraceCsv} reads). */
export function writeTraceCsv(rows: readonly TraceRow[]): string {
  const out = ['time_ms,service,origin'];
  for (const r of rows) out.push(`${r.timeMs.toFixed(3)},${r.service},${r.origin}`);
  return `${out.join('\n')}\n`;
}
