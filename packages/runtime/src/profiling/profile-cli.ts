#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { isEparaError, type NamedTensors, type TensorType } from '@epara/core';
import { createDevice } from '../devices/device-handle.js';
import { zeros } from '../executor/model-inputs.js';
import { profileModel } from './profile-model.js';

/*
 * `epara-profile`: measures a model's latency against batch size on this machine and writes the profile
 * JSON (core's LatencyProfile) to a file.
 */

const USAGE = `Usage: epara-profile --model <file.onnx> --out <profile.json> [options]

  --model <path>        ONNX model to profile (required)
  --out <path>          where to write the profile JSON (required)
  --input <name=dims>   per-item dims of an input, batch axis first as 1, e.g. x=1x3x48x192 (repeatable);
                        needed for inputs with free dims other than the batch
  --batch <list>        batch sizes, comma separated (default 1,2,4,8,16,32)
  --warmup <n>          untimed runs per batch size (default 3)
  --repetitions <n>     timed runs per batch size (default 10)
  --threads <n>         intra-op threads of the device (default 1)
  --kind <key>          profile key (default cpu-<threads>t)
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      input: { type: 'string', multiple: true },
      batch: { type: 'string' },
      warmup: { type: 'string' },
      repetitions: { type: 'string' },
      threads: { type: 'string' },
      kind: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.model || !values.out) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const threads = Number(values.threads ?? 1);
  const device = createDevice({ id: 'profiler', threads });
  try {
    const info = await device.loadModel('probe', { path: values.model });
    await device.unloadModel('probe');
    const given = new Map((values.input ?? []).map((s) => parseInput(s)));
    const items = info.inputs.map((io) => {
      const dims = given.get(io.name) ?? io.dims.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : Number.NaN));
      if (dims.some((d) => !Number.isInteger(d))) throw new Error(`input ${io.name} has free dims [${io.dims.join(', ')}]: pass --input ${io.name}=1x...`);
      return { name: io.name, type: io.type, dims };
    });
    const bar = new cliProgress.SingleBar({ format: 'profiling {bar} {value}/{total} runs | batch {batch}: {ms} ms' }, cliProgress.Presets.shades_classic);
    const batchSizes = (values.batch ?? '1,2,4,8,16,32').split(',').map(Number);
    const repetitions = Number(values.repetitions ?? 10);
    bar.start(batchSizes.length * repetitions, 0, { batch: '-', ms: '-' });
    const profile = await profileModel({
      model: values.model,
      device,
      batchSizes,
      warmup: Number(values.warmup ?? 3),
      repetitions,
      ...(values.kind ? { deviceKind: values.kind } : {}),
      inputs: (b) => batchOf(items, b),
      onProgress: (done, _total, s) => bar.update(done, { batch: s.batch, ms: s.ms.toFixed(2) }),
    });
    bar.stop();
    await writeFile(values.out, `${JSON.stringify(profile, null, 2)}\n`);
    process.stdout.write(`wrote ${values.out}: ${profile.points.map((p) => `b${p.batch}=${p.ms.toFixed(2)}ms`).join(' ')}\n`);
    return 0;
  } finally {
    await device.close();
  }
}

function parseInput(spec: string): [string, number[]] {
  const [name, dims] = spec.split('=');
  if (!name || !dims) throw new Error(`--input expects name=d1xd2x..., got ${spec}`);
  return [name, dims.split('x').map(Number)];
}

function batchOf(items: readonly { name: string; type: TensorType; dims: number[] }[], batch: number): NamedTensors {
  const out: Record<string, NamedTensors[string]> = {};
  for (const it of items) {
    const dims = [batch, ...it.dims.slice(1)];
    const t = zeros(it.type, dims);
    if (t.data instanceof Float32Array) for (let i = 0; i < t.data.length; i++) t.data[i] = Math.sin(i);
    out[it.name] = t;
  }
  return out;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`epara-profile: ${isEparaError(err) ? `${err.code}: ${err.message}` : String(err instanceof Error ? err.message : err)}\n`);
    process.exit(1);
  },
);
