import { EparaError, createSeededRandom, invalidOption } from '@epara/core';
import type { TraceRow } from './workload.js';

/** Options of {@link readAzureFunctionsTrace}. */
export interface AzureTraceOptions {
  /** Services to map functions onto; a function goes to `services[hash(HashFunction) mod n]`. */
  readonly services: readonly string[];
  /** Explicit function → service mapping; wins over the hash for the functions it names. */
  readonly mapping?: Readonly<Record<string, string>>;
  /** Access servers: an app's requests all enter at `hash(HashApp) mod originCount`. */
  readonly originCount: number;
  /** First minute column to read (1-based). @default 1 */
  readonly startMinute?: number;
  /** Number of minutes to read. @default 1440 */
  readonly minutes?: number;
  /** Simulated length of one trace minute, ms (compress time with less than 60 000). @default 60000 */
  readonly minuteMs?: number;
  /** Multiply every count (fractions are drawn at random): scale a trace to a cluster. @default 1 */
  readonly scale?: number;
  /** Seed for spreading invocations within a minute. @default 1 */
  readonly seed?: number;
}

/**
 * Reads the public Azure Functions invocation trace (2019 format: `HashOwner,HashApp,HashFunction,Trigger,
 * 1,2,…,1440`, one row per function with invocation counts per minute) into trace rows. Each function maps
 * to one service; invocations are spread uniformly at random within their minute (seeded).
 *
 * @throws EparaError `INVALID_OPTIONS` for a missing header column, an empty `services` list, or a count
 * that is not a non-negative integer (naming line and minute).
 */
export function readAzureFunctionsTrace(text: string, options: AzureTraceOptions): TraceRow[] {
  if (!Array.isArray(options.services) || options.services.length === 0) invalidOption('services', options.services, 'a non-empty array of service ids');
  if (!(Number.isInteger(options.originCount) && options.originCount > 0)) invalidOption('originCount', options.originCount, 'a positive integer');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new EparaError('INVALID_OPTIONS', `Azure trace header lacks "${name}"`, { field: `azure.header.${name}` });
    return i;
  };
  const appCol = col('HashApp');
  const fnCol = col('HashFunction');
  const first = col(String(options.startMinute ?? 1));
  const minutes = Math.min(options.minutes ?? 1440, header.length - first);
  const minuteMs = options.minuteMs ?? 60_000;
  const scale = options.scale ?? 1;
  const rng = createSeededRandom(options.seed ?? 1);
  const rows: TraceRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',');
    const fn = cells[fnCol] ?? '';
    const service = options.mapping?.[fn] ?? options.services[hashString(fn) % options.services.length]!;
    const origin = hashString(cells[appCol] ?? '') % options.originCount;
    for (let m = 0; m < minutes; m++) {
      const raw = cells[first + m] ?? '0';
      const count = Number(raw);
      if (!Number.isInteger(count) || count < 0) {
        throw new EparaError('INVALID_OPTIONS', `Azure trace line ${i + 1}, minute ${m + 1}: count must be a non-negative integer, got ${JSON.stringify(raw)}`, { field: `azure.line${i + 1}.minute${m + 1}`, value: raw });
      }
      const scaled = count * scale;
      const n = Math.floor(scaled) + (rng.next() < scaled - Math.floor(scaled) ? 1 : 0);
      for (let k = 0; k < n; k++) rows.push({ timeMs: (m + rng.next()) * minuteMs, service, origin });
    }
  }
  return rows.sort((a, b) => a.timeMs - b.timeMs);
}

/** FNV-1a hash of a string, as an unsigned integer. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
