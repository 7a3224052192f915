import { performance } from 'node:perf_hooks';

/** A count and the total time it took, ns (Triton's `StatisticDuration`). */
export interface DurationStat {
  readonly count: number;
  readonly ns: number;
}

/** What the host's executor measured for one service: the part of Triton's statistics the gateway cannot see. */
export interface ExecutionStatistics {
  /** Successful model runs (batches): a batch of several requests counts once. */
  readonly executions: number;
  /** Time requests waited in the executor's queues before their batch left for a device. */
  readonly queue: DurationStat;
  /** Per successful batch: moving its inputs to the device and its outputs back (the run excluded). */
  readonly computeInput: DurationStat;
  /** Per successful batch: the model's run. */
  readonly computeInfer: DurationStat;
  /** Per successful batch: what is measured apart from the input transfer (0 ns when the host measures both together). */
  readonly computeOutput: DurationStat;
  /** The same per batch size, smallest first. */
  readonly batches: readonly { readonly batchSize: number; readonly computeInput: DurationStat; readonly computeInfer: DurationStat; readonly computeOutput: DurationStat }[];
}

/** Triton's `$inference_stats`. */
export interface InferenceStatistics {
  readonly success: DurationStat;
  readonly fail: DurationStat;
  readonly queue: DurationStat;
  readonly compute_input: DurationStat;
  readonly compute_infer: DurationStat;
  readonly compute_output: DurationStat;
  readonly cache_hit: DurationStat;
  readonly cache_miss: DurationStat;
}

/** Triton's `$batch_stats`. */
export interface BatchStatistics {
  readonly batch_size: number;
  readonly compute_input: DurationStat;
  readonly compute_infer: DurationStat;
  readonly compute_output: DurationStat;
}

/** Triton's `$model_stat`: one model version (`GET /v2/models/{name}/stats`, the `ModelStatistics` RPC). */
export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  /** The last inference request, ms since the epoch (0: none yet). */
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: InferenceStatistics;
  readonly batch_stats: readonly BatchStatistics[];
}

const NONE: DurationStat = { count: 0, ns: 0 };

/** One model version's request counters. */
interface Counters {
  success: number;
  successNs: number;
  fail: number;
  failNs: number;
  inferences: number;
  lastInferenceMs: number;
}

/**
 * The gateway's side of Triton's statistics extension: every inference request that reached a known model
 * settles here once, as a success (with the items it carried) or a failure, with its time in the gateway.
 */
export class RequestStatistics {
  readonly #counters = new Map<string, Map<string, Counters>>();

  /** A start time for {@link settled}. */
  start(): number {
    return performance.now();
  }

  /** Records one settled request of model `name`, version `version`, started at `startedAt` ({@link start}). */
  settled(name: string, version: string, startedAt: number, outcome: { readonly ok: boolean; readonly items: number }): void {
    const ns = Math.max(0, Math.round((performance.now() - startedAt) * 1e6));
    let versions = this.#counters.get(name);
    if (!versions) this.#counters.set(name, (versions = new Map()));
    let c = versions.get(version);
    if (!c) versions.set(version, (c = { success: 0, successNs: 0, fail: 0, failNs: 0, inferences: 0, lastInferenceMs: 0 }));
    c.lastInferenceMs = Date.now();
    if (outcome.ok) {
      c.success++;
      c.successNs += ns;
      c.inferences += outcome.items;
    } else {
      c.fail++;
      c.failNs += ns;
    }
  }

  /**
   * The statistics of each version of `model` (only `version` when given). The executor's figures are per
   * service, which every version shares: they are reported on the latest version, the one a request without a
   * version runs as.
   */
  of(model: { readonly name: string; readonly versions: readonly string[] }, version: string | undefined, execution: ExecutionStatistics | undefined): ModelStatistics[] {
    const latest = model.versions[model.versions.length - 1];
    return model.versions
      .filter((v) => version === undefined || version === '' || v === version)
      .map((v) => modelStat(model.name, v, this.#counters.get(model.name)?.get(v), v === latest ? execution : undefined));
  }
}

function modelStat(name: string, version: string, c: Counters | undefined, e: ExecutionStatistics | undefined): ModelStatistics {
  return {
    name,
    version,
    last_inference: c?.lastInferenceMs ?? 0,
    inference_count: c?.inferences ?? 0,
    execution_count: e?.executions ?? 0,
    inference_stats: {
      success: { count: c?.success ?? 0, ns: c?.successNs ?? 0 },
      fail: { count: c?.fail ?? 0, ns: c?.failNs ?? 0 },
      queue: e?.queue ?? NONE,
      compute_input: e?.computeInput ?? NONE,
      compute_infer: e?.computeInfer ?? NONE,
      compute_output: e?.computeOutput ?? NONE,
      cache_hit: NONE,
      cache_miss: NONE,
    },
    batch_stats: (e?.batches ?? []).map((b) => ({ batch_size: b.batchSize, compute_input: b.computeInput, compute_infer: b.computeInfer, compute_output: b.computeOutput })),
  };
}
