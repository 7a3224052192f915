import type { ServerGroup } from '../model/hardware.js';
import type { NetworkOptions } from '../model/network.js';
import type { WorkloadSpec } from '../workload/workload.js';
import type { EparaSystemOptions } from '../systems/epara-options.js';
import type { TritonOptions } from '../systems/triton.js';
import type { CentralizedOptions } from '../systems/centralized.js';
import type { RayServeOptions } from '../systems/ray-serve.js';

/** The system a scenario runs: EPARA (optionally an ablation) or a baseline, with its parameters. */
export type SystemSpec =
  | ({ readonly kind: 'epara' } & Partial<EparaSystemOptions>)
  | ({ readonly kind: 'triton' } & Partial<TritonOptions>)
  | ({ readonly kind: 'centralized' } & Partial<CentralizedOptions>)
  | ({ readonly kind: 'ray-serve' } & Partial<RayServeOptions>);

/** A failure or recovery injected at a time. */
export interface FailureSpec {
  readonly atMs: number;
  /** Server index or id. */
  readonly server: number | string;
  /** Device index within the server; omitted = the whole server. */
  readonly device?: number;
  /** Bring it back instead. @default false */
  readonly recover?: boolean;
}

/**
 * A simulation scenario (JSON-friendly). Every system in a comparison is run on the same scenario with only
 * `system` changed: same devices, profiles, workload, network and seed.
 */
export interface Scenario {
  readonly name?: string;
  /** Seed of every random stream (workload, network pairs, sync noise). @default 1 */
  readonly seed?: number;
  /** Requests and frames are emitted during `[0, durationMs)`. */
  readonly durationMs: number;
  /** Items emitted before this are simulated but not counted. @default 0 */
  readonly warmupMs?: number;
  /** Extra simulated time after `durationMs` so in-flight items settle. @default longest SLO + 2000 */
  readonly drainMs?: number;
  readonly cluster: {
    readonly groups: readonly ServerGroup[];
    /** Servers per zone (a site with its own ring and scheduler). @default 50 */
    readonly zoneSize?: number;
  };
  readonly workload: WorkloadSpec;
  readonly network?: Partial<NetworkOptions>;
  /** Co-location interference β per extra batch sharing a device. @default 0.25 */
  readonly interference?: number;
  /** Length of the early window every system's initial forecast is measured over, ms. @default min(60000, durationMs/4) */
  readonly earlyWindowMs?: number;
  readonly system: SystemSpec;
  readonly failures?: readonly FailureSpec[];
}
