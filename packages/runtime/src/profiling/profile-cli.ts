#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { invalidOption, isEparaError } from '@epara/core';
import { createDevice } from '../devices/device-handle.js';
import { checkBatchSeparable } from '../executor/batch-check.js';
import { dimsHint, resolveProfileInputs } from './profile-inputs.js';
import { profileModel, tensorOutputs } from './profile-model.js';
import { createProgress } from './profile-progress.js';

/*
 * `epara-profile`: measures a model's latency against batch size on this machine and writes the profile
 * JSON (core's LatencyProfile) to a file. It reads the model's inputs exactly as the executor does (batch
 * axes from dim names, shared rank-0 inputs, state tensors batched on their own axis).
 */

const USAGE = `Usage: epara-profile --model <file.onnx> --out <profile.json> [options]

  --model <path>        ONNX model to profile (required)
  --out <path>          where to write the profile JSON (required)
  --input <name=dims>   per-item dims of an input, size 1 on its batch axis, e.g. x=1x3x48x192 or
                        state=2x1x128 (repeatable); needed for inputs with free dims other than the batch
  --fill <name=value>   fill an input with a constant, e.g. sr=16000 for a rank-0 sample rate (repeatable;
                        default: a sine pattern for float inputs, zeros otherwise)
  --axis <name=k|none>  batch axis of an input, or none for a tensor shared by the batch (repeatable;
                        default: the axis named like the first input's batch dim, as the executor reads it)
  --batch <list>        batch sizes, comma separated (default 1,2,4,8,16,32)
  --batchable           measure every batch size even when a batch of two differs from two single runs
                        (by default such a model, which the executor serves unbatched, is measured at 1)
  --warmup <n>          untimed runs per batch size (default 3)
  --repetitions <n>     timed runs per batch size (default 10)
  --threads <n>         intra-op threads of the device (default 1)
  --kind <key>          profile key (default cpu-<threads>t)
  --max-request-bytes <n>
                        bytes one item may hold, as the service's maxRequestBytes (default 134217728,
                        the executor's 128 MiB): a model whose item is larger is refused before it is built
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      input: { type: 'string', multiple: true },
      fill: { type: 'string', multiple: true },
      axis: { type: 'string', multiple: true },
      batch: { type: 'string' },
      batchable: { type: 'boolean' },
      warmup: { type: 'string' },
      repetitions: { type: 'string' },
      threads: { type: 'string' },
      kind: { type: 'string' },
      'max-request-bytes': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.model || !values.out) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const maxRequestBytes = values['max-request-bytes'] === undefined ? undefined : byteCount(values['max-request-bytes']);
  const device = createDevice({ id: 'profiler', threads: Number(values.threads ?? 1) });
  try {
    const info = await device.loadModel('probe', { path: values.model });
    const inputs = resolveProfileInputs(info, {
      dims: pairs('--input', values.input, (v) => (v === 'scalar' ? [] : v.split('x').map(Number))),
      fill: pairs('--fill', values.fill, Number),
      batchAxis: pairs('--axis', values.axis, (v) => (v === 'none' ? null : Number(v))),
      ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
    });
    for (const s of inputs.io.inputs) process.stderr.write(`input ${s.name} ${s.type}[${dimsHint(s)}] ${s.batchAxis === null ? 'shared by the batch' : `batched on axis ${s.batchAxis}`}\n`);
    let batchSizes = (values.batch ?? '1,2,4,8,16,32').split(',').map(Number);
    if (!values.batchable && batchSizes.some((b) => b > 1)) {
      // The outputs profileModel fetches: a ZipMap's sequence cannot come back from any run, alone or batched.
      const outputNames = tensorOutputs(info);
      const verdict = await checkBatchSeparable({ device, modelKey: 'probe', io: inputs.io, sample: inputs.item, state: {}, ...(outputNames ? { outputNames } : {}) });
      if (!verdict.ok) {
        process.stderr.write(`not batch-separable (${verdict.reason}): the executor serves it unbatched; measuring batch 1 only (--batchable to override)\n`);
        batchSizes = [1];
      }
    }
    await device.unloadModel('probe');
    const repetitions = Number(values.repetitions ?? 10);
    const progress = createProgress({ batchSizes, repetitions, stream: process.stderr });
    const profile = await profileModel({
      model: values.model,
      device,
      batchSizes,
      warmup: Number(values.warmup ?? 3),
      repetitions,
      ...(values.kind ? { deviceKind: values.kind } : {}),
      inputs: inputs.batch,
      ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
      onProgress: (done, _total, s) => progress.sample(done, s),
    });
    progress.stop();
    await writeFile(values.out, `${JSON.stringify(profile, null, 2)}\n`);
    process.stdout.write(`wrote ${values.out}: ${profile.points.map((p) => `b${p.batch}=${p.ms.toFixed(2)}ms`).join(' ')}\n`);
    return 0;
  } finally {
    await device.close();
  }
}

/**
 * `--max-request-bytes`: a positive whole number of bytes.
 * @throws EparaError `INVALID_OPTIONS` naming the flag.
 */
function byteCount(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n <= 0) invalidOption('--max-request-bytes', v, 'a positive whole number of bytes');
  return n;
}

/** `name=value` flags as a record; a flag without `=` fails with the flag's name. */
function pairs<T>(flag: string, specs: readonly string[] | undefined, parse: (v: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const spec of specs ?? []) {
    const at = spec.indexOf('=');
    if (at < 1) throw new Error(`${flag} expects name=value, got ${spec}`);
    out[spec.slice(0, at)] = parse(spec.slice(at + 1));
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
