import { readFileSync } from 'node:fs';
import { EparaError, invalidOption } from '@epara/core';
import type { TraceRow } from './workload.js';

/** Options of {@link readAzureLlmTrace}. */
export interface AzureLlmTraceOptions {
  /** Service the requests go to (an LLM service of the catalog). @default 'llm-chat' */
  readonly service?: string;
  /** Replay this many times faster than recorded (2 = twice the request rate). @default 1 */
  readonly speedup?: number;
  /** Skip this much of the recording first, ms of trace time. @default 0 */
  readonly skipMs?: number;
  /** Keep rows up to this much simulated time, ms. @default all */
  readonly durationMs?: number;
}

/** Name of the bundled production trace. */
export const AZURE_LLM_CONV_TRACE = 'AzureLLMInferenceTrace_conv';

/**
 * Reads an Azure LLM inference trace (2023 format: header `TIMESTAMP,ContextTokens,GeneratedTokens`, columns in
 * any order, timestamps as `YYYY-MM-DD HH:MM:SS.fffffff` or as seconds) into trace rows: arrival times relative
 * to the first row (divided by `speedup`), prompt and answer tokens from the counts. Origins are left to the
 * scenario's `origins` (e.g. moving hot spots). Any CSV with these columns is accepted.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the line and column of a bad value, or a missing column.
 * @example
 * ```ts
 * readAzureLlmTrace('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,374,44\n', { speedup: 2 });
 * ```
 */
export function readAzureLlmTrace(text: string, options: AzureLlmTraceOptions = {}): TraceRow[] {
  const speedup = options.speedup ?? 1;
  if (!(speedup > 0 && Number.isFinite(speedup))) invalidOption('speedup', speedup, 'a finite number > 0');
  const service = options.service ?? 'llm-chat';
  const skip = options.skipMs ?? 0;
  const until = options.durationMs ?? Infinity;
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new EparaError('INVALID_OPTIONS', 'LLM trace CSV is empty', { field: 'trace' });
  const header = lines[headerAt]!.split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string): number => {
    const i = header.indexOf(name.toLowerCase());
    if (i < 0) throw new EparaError('INVALID_OPTIONS', `LLM trace header lacks column "${name}"`, { field: `trace.header.${name}`, value: lines[headerAt] });
    return i;
  };
  const tCol = col('TIMESTAMP');
  const pCol = col('ContextTokens');
  const oCol = col('GeneratedTokens');
  const rows: TraceRow[] = [];
  let t0 = NaN;
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const cells = line.split(',');
    const where = `trace line ${i + 1}`;
    const raw = (cells[tCol] ?? '').trim();
    const t = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : parseTimestamp(raw);
    if (!Number.isFinite(t)) throw new EparaError('INVALID_OPTIONS', `${where}: TIMESTAMP is not a time: ${JSON.stringify(raw)}`, { field: `${where}.TIMESTAMP`, value: raw });
    const prompt = Number(cells[pCol]);
    const out = Number(cells[oCol]);
    if (!Number.isInteger(prompt) || prompt < 0) throw new EparaError('INVALID_OPTIONS', `${where}: ContextTokens must be an integer >= 0, got ${JSON.stringify(cells[pCol])}`, { field: `${where}.ContextTokens`, value: cells[pCol] });
    if (!Number.isInteger(out) || out < 0) throw new EparaError('INVALID_OPTIONS', `${where}: GeneratedTokens must be an integer >= 0, got ${JSON.stringify(cells[oCol])}`, { field: `${where}.GeneratedTokens`, value: cells[oCol] });
    if (Number.isNaN(t0)) t0 = t;
    const rel = t - t0 - skip;
    if (rel < 0) continue;
    const timeMs = rel / speedup;
    if (timeMs >= until) break;
    rows.push({ timeMs, service, promptTokens: prompt, outputTokens: Math.max(1, out) });
  }
  return rows.sort((a, b) => a.timeMs - b.timeMs);
}

/** `YYYY-MM-DD HH:MM:SS[.fraction]` as UTC ms (fraction kept to the microsecond). */
function parseTimestamp(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(s);
  if (m === null) return NaN;
  const base = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  return base + frac;
}

let cached: string | undefined;

/** The bundled Azure LLM conversation trace (CC-BY 4.0; see `traces/README.md` of this package), as text. */
export function bundledAzureLlmTrace(): string {
  if (cached !== undefined) return cached;
  const file = `${AZURE_LLM_CONV_TRACE}.csv`;
  // From dist/ (built) or src/workload/ (sources under test).
  for (const rel of [`../traces/${file}`, `../../traces/${file}`]) {
    try {
      cached = readFileSync(new URL(rel, import.meta.url), 'utf8');
      return cached;
    } catch {
      // try the next location
    }
  }
  throw new EparaError('INVALID_OPTIONS', `bundled trace ${file} not found next to @epara/sim`, { field: 'trace' });
}
