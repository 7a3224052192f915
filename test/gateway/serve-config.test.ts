import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEparaError } from '@epara/core';
import { parseServeConfig, serveConfigJsonSchema } from '@epara/gateway';
import type { ConfigProblem } from '@epara/gateway';
import { describe, expect, it } from 'vitest';
import { BIN, classifierConfig } from './serve-process.js';

/** The tests here run `epara serve` processes one after another (30 s was not enough at load 40): a hang guard. */
const SEQUENCE_TIMEOUT_MS = 120_000;

const problems = (text: string): ConfigProblem[] => {
  try {
    parseServeConfig(text, 'x.yaml');
  } catch (err) {
    if (isEparaError(err) && err.code === 'INVALID_OPTIONS') return err.details['problems'] as ConfigProblem[];
    throw err;
  }
  throw new Error('expected the config to be rejected');
};

describe('epara serve config', { timeout: SEQUENCE_TIMEOUT_MS }, () => {
  it('accepts a full config and fills defaults', () => {
    const c = parseServeConfig(classifierConfig({ metrics: true }));
    expect(c.node.id).toBe('edge-1');
    expect(c.services[0]).toMatchObject({ id: 'cls', versions: ['1'], devices: ['cpu0'] });
    expect(c.executor.launchWhenIdle).toBe(true);
    expect(c.metrics).toEqual({ enabled: true, path: '/metrics' });
  });

  it('names the field and the line of each problem', () => {
    const text = classifierConfig().replace('deadlineMs: 1000', 'deadlineMs: "soon"').replace('threads: 1', 'threads: 0');
    const p = problems(text);
    const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(p).toContainEqual(expect.objectContaining({ field: 'services[0].slo.deadlineMs', line: lineOf('deadlineMs: "soon"') }));
    expect(p).toContainEqual(expect.objectContaining({ field: 'devices[0].threads', line: lineOf('threads: 0') }));
  });

  it('rejects a service declared twice, a device that does not exist and unknown keys', () => {
    const base = classifierConfig();
    const twice = base.replace('services:\n', 'services:\n  - { id: cls, model: m.onnx, sensitivity: latency, slo: { kind: latency, deadlineMs: 5 } }\n');
    expect(problems(twice).map((p) => p.message).join()).toMatch(/declared twice/);
    expect(problems(base.replace('devices: [cpu0]', 'devices: [gpu9]')).map((p) => p.message).join()).toMatch(/no device gpu9/);
    expect(problems(base.replace('maxBatch: 8', 'maxBatch: 8\n    batchSize: 3'))[0]!.message).toMatch(/batchSize/);
  });

  it('refuses a config without devices at load, naming the field, rather than failing to start', () => {
    // A node whose every service is served by peers still needs one device for its executor: without any,
    // `epara serve` passed --check and then exited with the runtime's "Expected `devices` to be a non-empty array".
    const none = classifierConfig().replace('devices:\n  - { id: cpu0, threads: 1 }\n', '').replace('    devices: [cpu0]\n', '');
    const p = problems(none);
    expect(p).toContainEqual(expect.objectContaining({ field: 'devices', message: expect.stringMatching(/at least one device/) }));
    expect(problems(none.replace('services:', 'devices: []\nservices:'))).toContainEqual(expect.objectContaining({ field: 'devices' }));
  });

  it('reads the device fields by their former names too (kind for provider, deviceId for ordinal)', () => {
    const json = (device: object): string =>
      JSON.stringify({ node: { id: 'j' }, security: { insecure: true }, devices: [{ id: 'g0', ...device }], services: [{ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 }, devices: ['g0'] }] });
    expect(parseServeConfig(json({ kind: 'cuda', deviceId: 1 })).devices[0]).toMatchObject({ id: 'g0', provider: 'cuda', ordinal: 1 });
    expect(parseServeConfig(json({ provider: 'cuda', ordinal: 2 })).devices[0]).toMatchObject({ provider: 'cuda', ordinal: 2 });
    const plain = parseServeConfig(json({})).devices[0]!;
    expect(plain).toMatchObject({ provider: 'cpu' });
    expect('ordinal' in plain || 'kind' in plain || 'deviceId' in plain).toBe(false);
  });

  it('reports YAML syntax errors with their line', () => {
    const p = problems('node:\n  id: [unclosed\n');
    expect(p[0]!.field).toBe('(syntax)');
    expect(p[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('refuses a YAML alias bomb as a config problem, not a crash with a stack trace', () => {
    // Each level refers to the one above it nine times: 9^8 strings once expanded.
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const bomb = levels.map((k, i) => `${k}: &${k} [${i === 0 ? Array(9).fill('"x"').join(',') : Array(9).fill(`*${levels[i - 1]}`).join(',')}]`).join('\n');
    const p = problems(bomb);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ field: '(syntax)' });
    expect(p[0]!.message).toMatch(/alias/i);
    const dir = mkdtempSync(join(tmpdir(), 'epara-bomb-'));
    writeFileSync(join(dir, 'bomb.yaml'), bomb);
    const r = spawnSync(process.execPath, [BIN, 'serve', '--check', join(dir, 'bomb.yaml')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^epara serve: invalid config .*bomb\.yaml:\n.*bomb\.yaml:1:1 \(syntax\): /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses every field of the wrong type naming the field, the type expected and the value given, at --check and at start', () => {
    // `insecure: "true"` (a string) was reported as "security.psk: Required": the union's other branch.
    const full = (security: object, slo: object): Record<string, unknown> => ({
      node: { id: 'n1', listen: { host: '127.0.0.1', port: 0 }, advertise: 'ws://127.0.0.1:7400/epara', seeds: ['ws://127.0.0.2:7400/epara'], joinTimeoutMs: 100, syncPeriodMs: 100, hopLimit: 2, placement: false },
      security,
      devices: [{ id: 'cpu0', provider: 'cpu', ordinal: 0, threads: 1, memoryBytes: 1e9, kind: 'cpu', deviceId: 0 }],
      executor: { launchWhenIdle: true, maxQueue: 10, maxResponseBytes: 4096, profiling: { warmup: 1, repetitions: 3, warmShapesMs: 0 } },
      services: [
        {
          id: 's', model: 'm.onnx', versions: ['1'], sensitivity: (slo as { kind: string }).kind, slo, devices: ['cpu0'],
          inputs: { x: { type: 'float32', dims: [4, 3], batchAxis: 0, sampleDims: [1, 3] } },
          outputNames: ['y'], maxBatch: 4, plan: { batchSize: 2 }, memoryBytes: 10, maxResponseBytes: 1024, networkBudgetMs: 1, weight: 1,
        },
      ],
      gateway: { http: { host: '127.0.0.1', port: 0 }, grpc: { host: '127.0.0.1', port: 0 }, maxBodyBytes: 4096, maxBatchItems: 8, maxConnections: 100, requestTimeoutMs: 1000, idleTimeoutMs: 1000 },
      metrics: { enabled: true, path: '/metrics' },
      dashboard: { enabled: true, path: '/dashboard', tokenEnv: 'T' },
      log: { level: 'info' },
      drainTimeoutMs: 100,
    });
    const bases = [
      full({ psk: { env: 'K' }, tls: { key: 'k.pem', cert: 'c.pem', ca: 'ca.pem', requestCert: false, rejectUnauthorized: true } }, { kind: 'latency', deadlineMs: 100 }),
      full({ insecure: true }, { kind: 'frequency', rateHz: 1, stalenessMs: 1 }),
      full({ psk: { file: 'k.txt' } }, { kind: 'latency', deadlineMs: 100 }),
    ];
    // The bases name every field of the schema: a field added later is checked here too.
    type Schema = { properties?: Record<string, Schema>; anyOf?: Schema[]; items?: Schema; additionalProperties?: Schema | boolean };
    const named = new Set<string>();
    const walkValue = (v: unknown, path: string): void => {
      if (Array.isArray(v)) v.forEach((x) => walkValue(x, `${path}[]`));
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) named.add(`${path}.${k}`), walkValue(x, `${path}.${k}`);
    };
    bases.forEach((b) => walkValue(b, ''));
    const fields: string[] = [];
    const walkSchema = (s: Schema, path: string): void => {
      for (const [k, x] of Object.entries(s.properties ?? {})) fields.push(`${path}.${k}`), walkSchema(x, `${path}.${k}`);
      for (const x of s.anyOf ?? []) walkSchema(x, path);
      if (s.items) walkSchema(s.items, `${path}[]`);
      if (typeof s.additionalProperties === 'object') walkSchema(s.additionalProperties, path.endsWith('.inputs') ? `${path}.x` : `${path}.*`);
    };
    walkSchema((serveConfigJsonSchema() as { definitions: Record<string, Schema> }).definitions['EparaServeConfig']!, '');
    expect(fields.filter((f) => !named.has(f))).toEqual([]);
    const kind = (v: unknown): string => (Array.isArray(v) ? 'array' : typeof v);
    const wrong = (v: unknown): unknown => (typeof v === 'string' ? 12345 : typeof v === 'boolean' ? 'true' : typeof v === 'number' ? `${v}` : Array.isArray(v) ? 'a' : 'b');
    const given = (w: unknown): RegExp => new RegExp(typeof w === 'number' ? `\\b${w}\\b` : `"${w as string}"`);
    let checked = 0;
    for (const [b, base] of bases.entries()) {
      expect(() => parseServeConfig(JSON.stringify(base))).not.toThrow();
      // The other bases differ from the first in their security and SLO only: the rest is checked once.
      const differs = (path: (string | number)[]): boolean => b === 0 || path[0] === 'security' || path[3] === 'slo';
      const visit = (v: unknown, path: (string | number)[]): void => {
        if (path.length > 0 && differs(path)) {
          const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
          let at: Record<string | number, unknown> = copy;
          for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
          const w = wrong(v);
          at[path.at(-1)!] = w;
          const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
          const p = problems(JSON.stringify(copy, null, 2));
          const mine = p.find((x) => x.field === field);
          expect(mine, `${field} = ${JSON.stringify(w)}: ${JSON.stringify(p)}`).toBeDefined();
          expect(p, field).toHaveLength(1);
          // The type expected (or, for an enum or a literal, the values it takes) and the value given.
          const m = mine!.message;
          expect(m, field).toMatch(/^expected /);
          // A literal (`insecure: true`) names its value; an enum its values, the one replaced among them.
          expect([`expected ${kind(v)}`, `expected ${String(v)}`, `'${String(v)}'`].some((e) => m.includes(e)) && !m.startsWith(`expected ${kind(w)},`), `${field}: ${m}`).toBe(true);
          expect(m, field).toMatch(given(w));
          checked++;
        }
        if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, [...path, Array.isArray(v) ? Number(k) : k]);
      };
      visit(base, []);
    }
    expect(checked).toBeGreaterThan(80);
    // The command line says the same before anything starts (`--check` reads the config as the start does).
    const dir = mkdtempSync(join(tmpdir(), 'epara-types-'));
    writeFileSync(join(dir, 'c.yaml'), classifierConfig().replace('  psk: { env: EPARA_TEST_PSK }', '  insecure: "true"'));
    const r = spawnSync(process.execPath, [BIN, 'serve', join(dir, 'c.yaml')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/c\.yaml:6:13 security\.insecure: expected true, got string "true"\n$/);
  });

  it('reads JSON configs too', () => {
    const json = JSON.stringify({ node: { id: 'j' }, security: { insecure: true }, devices: [{ id: 'cpu0' }], services: [{ id: 's', model: 'm.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 50 } }] }, null, 2);
    expect(parseServeConfig(json).node.listen).toEqual({ host: '127.0.0.1', port: 7400 });
  });

  it('emits a JSON Schema editors can use', () => {
    const schema = serveConfigJsonSchema() as { definitions: Record<string, { properties: Record<string, unknown>; required: string[] }> };
    const root = schema.definitions['EparaServeConfig']!;
    expect(Object.keys(root.properties)).toEqual(expect.arrayContaining(['node', 'security', 'devices', 'services', 'gateway', 'metrics']));
    expect(root.required).toEqual(expect.arrayContaining(['node', 'security', 'services']));
  });

  it('`epara serve --check` validates without starting, and fails with field:line on a bad file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-check-'));
    writeFileSync(join(dir, 'good.yaml'), classifierConfig());
    writeFileSync(join(dir, 'bad.yaml'), classifierConfig().replace('kind: latency, deadlineMs: 1000', 'kind: latency, deadlineMs: -3'));
    const good = spawnSync(process.execPath, [BIN, 'serve', '--check', join(dir, 'good.yaml')], { encoding: 'utf8', env: { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' } });
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/ok \(node edge-1, 1 service/);
    const bad = spawnSync(process.execPath, [BIN, 'serve', '--check', join(dir, 'bad.yaml')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:\d+:\d+ services\[0\]\.slo\.deadlineMs: Number must be greater than 0/);
  });

  it('refuses a service whose inputs name an input the model does not have (a typo left the real one undeclared)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-inputs-'));
    writeFileSync(join(dir, 'typo.yaml'), classifierConfig().replace('      x: { dims: [1, 3, 48, 192] }', '      X: { dims: [1, 3, 48, 192] }'));
    const r = spawnSync(process.execPath, [BIN, 'serve', '--check', join(dir, 'typo.yaml')], { encoding: 'utf8', env: { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('epara serve: services.cls.inputs.X: model cls has no input X (its inputs: x)\n');
    // The same at start: the server does not come up on a config that says something the model contradicts.
    const start = spawnSync(process.execPath, [BIN, 'serve', join(dir, 'typo.yaml')], { encoding: 'utf8', env: { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' } });
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/^epara serve: services\.cls\.inputs\.X: model cls has no input X/);
  });

  it('refuses a drain timeout longer than a timer can wait (it fired at once: SIGTERM did not wait for anything)', () => {
    for (const value of ['.inf', '10000000000']) {
      const text = classifierConfig().replace('drainTimeoutMs: 5000', `drainTimeoutMs: ${value}`);
      expect(problems(text).map((p) => p.field), value).toEqual(['drainTimeoutMs']);
    }
    // The mesh's gossip timer likewise: past 2^31 - 1 ms, setInterval runs every millisecond.
    expect(problems(classifierConfig().replace('  listen: { host: 127.0.0.1, port: 0 }', '  listen: { host: 127.0.0.1, port: 0 }\n  syncPeriodMs: 10000000000')).map((p) => p.field)).toEqual(['node.syncPeriodMs']);
  });

  it("refuses more threads on a device than the machine has cores, at --check and at start (threads: 100000 was accepted)", () => {
    const cores = availableParallelism();
    const many = (n: number): string => classifierConfig().replace('  - { id: cpu0, threads: 1 }', `  - { id: cpu0, threads: ${n} }`);
    expect(problems(many(cores + 1))).toEqual([expect.objectContaining({ field: 'devices[0].threads', message: expect.stringMatching(new RegExp(`^${cores + 1} threads on a machine of ${cores} cores?: at most ${cores} `)) })]);
    expect(parseServeConfig(many(cores)).devices[0]!.threads).toBe(cores);
    const dir = mkdtempSync(join(tmpdir(), 'epara-threads-'));
    writeFileSync(join(dir, 'threads.yaml'), many(100_000));
    const env = { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' };
    for (const args of [['serve', '--check', join(dir, 'threads.yaml')], ['serve', join(dir, 'threads.yaml')]]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`threads\\.yaml:\\d+:\\d+ devices\\[0\\]\\.threads: 100000 threads on a machine of ${cores} cores?: at most ${cores}`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses a peer address that is no ws:// or wss:// URL (the node dialled it in silence for ever, alone)', () => {
    const node = (lines: string): string => classifierConfig().replace('  listen: { host: 127.0.0.1, port: 0 }', `  listen: { host: 127.0.0.1, port: 0 }\n${lines}`);
    const text = node('  seeds: [ws://ok:7400/epara, http://edge-b:7400, "edge-c:7400"]\n  advertise: tcp://edge-a:7400');
    const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const p = problems(text);
    expect(p.map((x) => x.field)).toEqual(['node.advertise', 'node.seeds[1]', 'node.seeds[2]']);
    expect(p[1]).toMatchObject({ line: lineOf('seeds:'), message: expect.stringMatching(/ws:\/\/ or wss:\/\//) });
    expect(parseServeConfig(node('  seeds: [wss://edge-b:7400/epara]\n  advertise: ws://10.0.0.1:7400/epara')).node.seeds).toEqual(['wss://edge-b:7400/epara']);
  });

  it('refuses a mesh listener on every interface without an advertised address (peers dialled 0.0.0.0: themselves)', () => {
    for (const host of ['0.0.0.0', '"::"']) {
      const text = classifierConfig().replace('  listen: { host: 127.0.0.1, port: 0 }', `  listen: { host: ${host}, port: 7400 }`);
      expect(problems(text), host).toContainEqual(expect.objectContaining({ field: 'node.advertise', message: expect.stringMatching(/peers dial/) }));
      expect(parseServeConfig(text.replace('  listen:', '  advertise: ws://edge-a:7400/epara\n  listen:')).node.advertise).toBe('ws://edge-a:7400/epara');
    }
    const unspecified = classifierConfig().replace('  listen: { host: 127.0.0.1, port: 0 }', '  listen: { host: 127.0.0.1, port: 0 }\n  advertise: ws://0.0.0.0:7400/epara');
    expect(problems(unspecified)).toContainEqual(expect.objectContaining({ field: 'node.advertise' }));
  });

  it('refuses a service id no URL can name (. and ..: a client resolves /v2/models/../infer to /v2/infer)', () => {
    for (const id of ['.', '..', '...']) {
      expect(problems(classifierConfig().replace('  - id: cls', `  - id: "${id}"`)).map((x) => x.field), id).toEqual(['services[0].id']);
    }
    expect(parseServeConfig(classifierConfig().replace('  - id: cls', '  - id: .cls.v2')).services[0]!.id).toBe('.cls.v2');
  });

  it('refuses infinite numbers (a deadline of .inf passed, and then every request was answered 400)', () => {
    const cases: [string, string, string][] = [
      ['deadlineMs: 1000', 'deadlineMs: .inf', 'services[0].slo.deadlineMs'],
      ['deadlineMs: 1000', 'deadlineMs: 1e400', 'services[0].slo.deadlineMs'],
      ['    maxBatch: 8', '    maxBatch: 8\n    networkBudgetMs: .inf', 'services[0].networkBudgetMs'],
      ['    maxBatch: 8', '    maxBatch: 8\n    weight: .inf', 'services[0].weight'],
    ];
    for (const [from, to, field] of cases) expect(problems(classifierConfig().replace(from, to)).map((x) => x.field), to).toEqual([field]);
    const frequency = classifierConfig().replace('sensitivity: latency', 'sensitivity: frequency');
    expect(problems(frequency.replace('slo: { kind: latency, deadlineMs: 1000 }', 'slo: { kind: frequency, rateHz: .inf, stalenessMs: .inf }')).map((x) => x.field)).toEqual(['services[0].slo.rateHz', 'services[0].slo.stalenessMs']);
  });

  it('answers a command line it cannot read with the usage and exit code 2, not a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-args-'));
    writeFileSync(join(dir, 'good.yaml'), classifierConfig());
    for (const args of [['serve', '--bogus', join(dir, 'good.yaml')], ['serve', '--check=yes', join(dir, 'good.yaml')], ['serve', join(dir, 'good.yaml'), join(dir, 'other.yaml')]]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: epara serve/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('names the address and the field when a gateway port is taken, and exits 1 without a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const dir = mkdtempSync(join(tmpdir(), 'epara-port-'));
      writeFileSync(join(dir, 'busy.yaml'), classifierConfig().replace('http: { host: 127.0.0.1, port: 0 }', `http: { host: 127.0.0.1, port: ${port} }`));
      const r = spawnSync(process.execPath, [BIN, 'serve', join(dir, 'busy.yaml')], { encoding: 'utf8', env: { ...process.env, EPARA_TEST_PSK: 'test-psk-0123456789abcdef' } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`epara serve: cannot listen for HTTP on 127.0.0.1:${port} (http.port)`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  }, 60_000);
});
