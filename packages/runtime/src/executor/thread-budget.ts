import { availableParallelism } from 'node:os';
import type { Logger } from '@epara/core';
import type { ResolvedExecutorOptions } from './resolve-executor-options.js';

/** How the CPU devices' threads fit the machine's cores. */
export interface ThreadBudget {
  /** Intra-op threads of every `cpu` device together. */
  readonly deviceThreads: number;
  readonly cores: number;
  /** Cores kept for the host thread (the executor's `hostCores`). */
  readonly hostCores: number;
  /** The devices' threads leave the host less than `hostCores` cores (never with `hostCores: 0`). */
  readonly oversubscribed: boolean;
}

/** The thread budget of `devices` on a machine of `cores` cores. */
export function threadBudget(devices: ResolvedExecutorOptions['devices'], hostCores: number, cores: number): ThreadBudget {
  let deviceThreads = 0;
  for (const d of devices) if ((d.provider ?? 'cpu') === 'cpu') deviceThreads += d.threads ?? 1;
  return { deviceThreads, cores, hostCores, oversubscribed: hostCores > 0 && deviceThreads > cores - hostCores };
}

/** Logs a warning when the devices' threads leave the host thread less than its cores. */
export function warnIfOversubscribed(o: Pick<ResolvedExecutorOptions, 'devices' | 'hostCores'> & { readonly logger: Logger }, cores = availableParallelism()): ThreadBudget {
  const budget = threadBudget(o.devices, o.hostCores, cores);
  if (budget.oversubscribed) {
    o.logger.warn(
      { ...budget },
      `CPU devices use ${budget.deviceThreads} intra-op threads on ${cores} cores, leaving the host thread less than the ${budget.hostCores} core(s) of hostCores: its event loop will wait for a core under load (fewer device threads, or hostCores: 0 to accept it)`,
    );
  }
  return budget;
}
