import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Reads a V8 CPU profile (`.cpuprofile`, as `cpuProfileStop` writes it, see child-rpc.ts) into where a process's
 * main thread spent its CPU: self time per area of the code (mesh codec, ring sync, offload, runtime executor,
 * entry, …) and per function, and the time spent under each area (inclusive). The packages are bundled
 * (`dist/*.js`): each frame is mapped back to its source file through the bundle's source map.
 */

/** The part of a V8 CPU profile read here. */
export interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: CallFrame; children?: readonly number[] }[];
  readonly samples: readonly number[];
  /** µs since the previous sample (the first: since the profile's start). */
  readonly timeDeltas: readonly number[];
}

/** A profile node's frame. */
export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based. */
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** Where a frame's code comes from: its source file (repository-relative when known) and function. */
export interface FrameSource {
  readonly file: string;
  readonly name: string;
}

/** CPU time of one profile, ms, by area and by function. */
export interface ProfileSummary {
  /** Every sampled ms (idle left out). */
  readonly busyMs: number;
  /** Self time per area ({@link areaOf}). */
  readonly selfByArea: Readonly<Record<string, number>>;
  /** Time of the samples with a frame of the area anywhere on their stack. */
  readonly inclusiveByArea: Readonly<Record<string, number>>;
  /** Self time per function, `name (file)`. */
  readonly selfByFunction: Readonly<Record<string, number>>;
  /**
   * Time of the samples with the function anywhere on their stack (counted once per sample): what a call path
   * costs — the device scheduler's `pump`, the mesh's `#route` — where self time spreads it over the leaves.
   */
  readonly inclusiveByFunction: Readonly<Record<string, number>>;
}

/** Areas of the code, by source path: the first match names the area. */
const AREAS: readonly [RegExp, string][] = [
  [/packages\/mesh\/src\/protocol\//, 'mesh wire/codec'],
  [/packages\/mesh\/src\/transport\//, 'mesh transport'],
  [/packages\/mesh\/src\/security\//, 'mesh security'],
  [/packages\/mesh\/src\/sync\//, 'mesh ring sync/view'],
  [/packages\/mesh\/src\/offload\//, 'mesh offload/routing'],
  [/packages\/mesh\/src\/observability\//, 'mesh metrics/tracing'],
  [/packages\/mesh\/src\/placement\//, 'mesh placement'],
  [/packages\/mesh\/src\/node\//, 'mesh node'],
  [/packages\/mesh\//, 'mesh other'],
  [/packages\/runtime\/src\/(executor|batching)\//, 'runtime executor/batching'],
  [/packages\/runtime\/src\/devices\//, 'runtime device hand-off'],
  [/packages\/runtime\/src\/generation\//, 'runtime generation'],
  [/packages\/runtime\/src\/streams\//, 'runtime streams'],
  [/packages\/runtime\/src\/tensors\//, 'runtime tensors'],
  [/packages\/runtime\/src\/observability\//, 'runtime metrics/tracing'],
  [/packages\/runtime\//, 'runtime other'],
  [/packages\/core\/src\/routing\//, 'core routing'],
  [/packages\/core\/src\/(metrics|tracing)\//, 'core metrics/tracing'],
  [/packages\/core\/src\/view\//, 'core view'],
  [/packages\/core\/src\/scheduling\//, 'core scheduling'],
  [/packages\/core\//, 'core other'],
  [/packages\/dashboard\//, 'dashboard'],
  [/examples\/demo\/src\/cluster\/entry\.ts/, 'demo entry'],
  [/examples\/demo\/src\/cluster\/child-rpc\.ts/, 'demo child rpc'],
  [/examples\/demo\/src\/baseline\//, 'baseline batcher/balancer'],
  [/examples\/demo\/src\/(entry-decisions|device-usage|cluster\/request-trace)\.ts/, 'demo bookkeeping'],
  [/examples\/demo\//, 'demo other'],
  [/node_modules\/(\.pnpm\/)?ws[@/]/, 'ws (WebSocket library)'],
  [/onnxruntime/, 'onnxruntime (main thread)'],
  [/node_modules\//, 'other dependencies'],
  [/^node:/, 'node internals'],
];

/** The area of a source file; special V8 frames (`(garbage collector)`, `(program)`) are their own area. */
export function areaOf(source: FrameSource): string {
  if (source.file === '') return source.name.startsWith('(') ? source.name : 'native';
  for (const [re, area] of AREAS) if (re.test(source.file)) return area;
  return 'other';
}

/**
 * Sums a profile by area and function. `resolve` maps each frame to its source (see {@link sourceMapResolver});
 * `(idle)` samples are left out.
 */
export function summarizeProfile(profile: CpuProfile, resolve: (f: CallFrame) => FrameSource = rawSource): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sources = new Map<number, FrameSource>();
  const sourceOf = (id: number): FrameSource => {
    let s = sources.get(id);
    if (s === undefined) sources.set(id, (s = resolve(byId.get(id)!.callFrame)));
    return s;
  };
  const selfByArea: Record<string, number> = {};
  const inclusiveByArea: Record<string, number> = {};
  const selfByFunction: Record<string, number> = {};
  const inclusiveByFunction: Record<string, number> = {};
  const functionOf = (f: FrameSource): string => `${f.name || '(anonymous)'} (${f.file.replace(/^.*?(packages|examples|node_modules)\//, '$1/') || 'native'})`;
  let busyMs = 0;
  const add = (into: Record<string, number>, key: string, ms: number): void => {
    into[key] = (into[key] ?? 0) + ms;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample lasts until the next one (the last: one more interval like its own).
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const id = profile.samples[i]!;
    const self = sourceOf(id);
    if (self.name === '(idle)') continue;
    busyMs += ms;
    const area = areaOf(self);
    add(selfByArea, area, ms);
    add(selfByFunction, functionOf(self), ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const source = sourceOf(at);
      if (source.name === '(root)') continue;
      for (const [into, key] of [[inclusiveByArea, `area:${areaOf(source)}`], [inclusiveByFunction, functionOf(source)]] as const) {
        if (seen.has(key)) continue;
        seen.add(key);
        add(into, key.startsWith('area:') ? key.slice('area:'.length) : key, ms);
      }
    }
  }
  return { busyMs, selfByArea, inclusiveByArea, selfByFunction, inclusiveByFunction };
}

/** A frame as V8 names it (its URL as the file). */
function rawSource(f: CallFrame): FrameSource {
  return { file: f.url, name: f.functionName };
}

/**
 * Maps frames of bundled files to their source through each file's `.map` beside it (read once per file);
 * frames without one keep their URL.
 */
export function sourceMapResolver(): (f: CallFrame) => FrameSource {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  const mapOf = (url: string): { map: SourceMap; dir: string } | null => {
    let m = maps.get(url);
    if (m !== undefined) return m;
    m = null;
    try {
      const path = url.startsWith('file://') ? fileURLToPath(url) : url;
      if (path.endsWith('.js') && existsSync(`${path}.map`)) m = { map: new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as SourceMapPayload), dir: dirname(path) };
    } catch {
      m = null;
    }
    maps.set(url, m);
    return m;
  };
  return (f) => {
    const m = f.url === '' ? null : mapOf(f.url);
    if (m === null) return rawSource(f);
    const e = m.map.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string };
    if (e.originalSource === undefined) return rawSource(f);
    const file = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolvePath(m.dir, e.originalSource);
    return { file, name: f.functionName };
  };
}

/**
 * Lines of a summary per item, largest first, and the `top` functions. A profile's sample times are wall time
 * while the thread runs JavaScript (on a busy machine, also while it waits for a core), so each area is read
 * as its share of the profile's busy time × `cpuMs`, the thread's CPU time measured apart (/proc), when given.
 */
export function profileLines(s: ProfileSummary, items: number, top = 25, cpuMs?: number): string[] {
  const scale = cpuMs === undefined || s.busyMs === 0 ? 1 : cpuMs / s.busyMs;
  const per = (ms: number): string => `${((1000 * ms * scale) / Math.max(1, items)).toFixed(1).padStart(7)} µs`;
  const sorted = (r: Readonly<Record<string, number>>): [string, number][] => Object.entries(r).sort((a, b) => b[1] - a[1]);
  const basis = cpuMs === undefined ? 'profile time' : `CPU time: the profile's shares × ${cpuMs.toFixed(0)} ms of event-loop CPU`;
  const lines = [`${per(s.busyMs)} per item (${items} items; ${basis})`, 'area: self | inclusive'];
  for (const [area, ms] of sorted(s.selfByArea)) lines.push(`  ${area.padEnd(30)} ${per(ms)} | ${per(s.inclusiveByArea[area] ?? ms)}`);
  lines.push('functions (self):');
  for (const [name, ms] of sorted(s.selfByFunction).slice(0, top)) lines.push(`  ${per(ms)}  ${name}`);
  // Node's and the dependencies' frames sit under everything (a socket read calls the whole entry): left out here.
  lines.push("functions (inclusive; the repository's code):");
  for (const [name, ms] of sorted(s.inclusiveByFunction).filter(([k]) => /\((packages|examples)\//.test(k)).slice(0, top)) lines.push(`  ${per(ms)}  ${name}`);
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [file, items, top] = process.argv.slice(2);
  if (file === undefined) {
    console.log('usage: npx tsx examples/demo/src/cpu-profile.ts <file.cpuprofile> [items] [top functions]');
  } else {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, sourceMapResolver());
    for (const line of profileLines(summary, Number(items ?? 1), Number(top ?? 25))) console.log(line);
  }
}
