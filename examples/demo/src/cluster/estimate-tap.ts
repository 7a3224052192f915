import type { LocalEstimate, LocalExecutor, ServiceId } from '@epara/core';

/**
 * An executor as a mesh node calls it, keeping the last estimate the node read from it: the node's routing
 * reads the executor's estimate once per request (synchronously, inside `submit`), and the entry's decision log
 * wants that same figure. Asking the executor a second time for the log cost as much as the routing's own call
 * — the runtime's estimate walks its device's queue — per request, on the node's event loop; a baseline site
 * pays nothing like it.
 */
export class EstimateTap {
  /** What the mesh node is given: every call goes to the executor unchanged. */
  readonly executor: LocalExecutor;
  #last: LocalEstimate | undefined;
  #read = false;

  constructor(x: LocalExecutor) {
    this.executor = {
      submit: (serviceId, inputs, options) => x.submit(serviceId, inputs, options),
      estimate: (serviceId: ServiceId) => {
        this.#read = true;
        return (this.#last = x.estimate(serviceId));
      },
      openStream: (serviceId, options) => x.openStream(serviceId, options),
      load: (plan, options) => x.load(plan, options),
      unload: (instanceId, options) => x.unload(instanceId, options),
      instances: () => x.instances(),
    };
  }

  /**
   * The estimate read since the last call (`read: false` when none was: the request never reached routing), and
   * forgets it.
   */
  take(): { read: boolean; estimate: LocalEstimate | undefined } {
    const out = { read: this.#read, estimate: this.#last };
    this.#read = false;
    this.#last = undefined;
    return out;
  }
}
