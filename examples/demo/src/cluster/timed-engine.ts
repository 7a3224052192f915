import type { DeviceWork, DeviceWorkQueue, ExecutorServiceOptions, ServiceEngine } from '@epara/runtime';

/** Where a {@link timedEngine} reports: the node's device-usage log (`DeviceUsageLog`). */
export interface EngineUsage {
  /** One launch of the engine (a generation step) ended now, `durationMs` after the device scheduler launched it. */
  workEnded(e: { readonly serviceId: string; readonly durationMs: number }): void;
  /** The engine answered one request. */
  engineServed(serviceId: string): void;
}

/**
 * The service with its engine's device work timed: an engine (the chat service's generation engine) runs its steps
 * through the device scheduler, outside the executor's batch events, so the node's usage log would see the device
 * busy but not with what. Each step is timed from its launch to its end on the host, and each answered request
 * counted, so the chat service's device wall time per turn is measured like a batch service's per item. `usage`
 * is read at each report (the log exists once the node has joined). A service without an engine is returned as is.
 */
export function timedEngine<S extends ExecutorServiceOptions>(service: S, usage: () => EngineUsage | undefined, now: () => number = () => performance.now()): S {
  const build = service.engine;
  if (build === undefined) return service;
  const serviceId = service.id;
  const timedQueue = (q: DeviceWorkQueue): DeviceWorkQueue => ({
    freeAt: (at) => q.freeAt(at),
    enqueueWork: (work: DeviceWork) =>
      q.enqueueWork({
        ...work,
        run: async (plannedStart) => {
          const launchedAt = now();
          try {
            await work.run(plannedStart);
          } finally {
            usage()?.workEnded({ serviceId, durationMs: now() - launchedAt });
          }
        },
      }),
  });
  return {
    ...service,
    engine: async (ctx) => {
      const engine = await build({ ...ctx, workQueues: ctx.workQueues.map(timedQueue) });
      const timed: ServiceEngine = {
        submit: async (inputs, options) => {
          const out = await engine.submit(inputs, options);
          usage()?.engineServed(serviceId);
          return out;
        },
        estimate: (at) => engine.estimate(at),
        close: () => engine.close(),
      };
      return timed;
    },
  };
}
