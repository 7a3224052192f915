import { EparaError, toEparaError } from '@epara/core';
import type { NamedTensors, ServerId, ServiceId } from '@epara/core';
import { runOffloaderContract } from './offloader-contract.js';
import type { OffloaderMember } from './offloader-contract.js';
import type { OffloadForwardOptions, Offloader } from './offloader.js';

/**
 * A fake offloader over an in-process registry of who serves what (a broker's queue groups, in miniature): a
 * forward runs on the first other member serving the service, through that member's executor.
 */
function createMemoryOffloaders(members: readonly OffloaderMember[]): Map<ServerId, Offloader> {
  const serving = new Map<ServiceId, Set<OffloaderMember>>();
  const offloaders = new Map<ServerId, Offloader>();
  for (const self of members) {
    const inFlight = new Set<(err: EparaError) => void>();
    let closed = false;
    const forward = (serviceId: ServiceId, inputs: NamedTensors, o: OffloadForwardOptions): Promise<NamedTensors> => {
      if (closed) return Promise.reject(new EparaError('CLOSED', 'offloader is closed'));
      if (o.signal?.aborted) return Promise.reject(new EparaError('ABORTED', 'aborted before forwarding'));
      if (o.deadline <= Date.now()) return Promise.reject(new EparaError('DEADLINE_EXCEEDED', 'deadline already passed'));
      const target = [...(serving.get(serviceId) ?? [])].find((m) => m !== self && !(o.visited ?? []).includes(m.selfId));
      if (!target) return Promise.reject(new EparaError('NO_INSTANCE', `nobody serves ${serviceId}`));
      o.onAttempt?.({ hops: (o.hops ?? 0) + 1, retry: false });
      return new Promise<NamedTensors>((resolve, reject) => {
        const fail = (err: EparaError): void => reject(err);
        // The caller stops waiting at once; the serving side may still finish its dispatched batch.
        const onAbort = (): void => fail(new EparaError('ABORTED', 'forward aborted'));
        inFlight.add(fail);
        o.signal?.addEventListener('abort', onAbort, { once: true });
        target.executor
          .submit(serviceId, inputs, { deadline: o.deadline, ...(o.signal ? { signal: o.signal } : {}) })
          .then(resolve, (err: unknown) => reject(toEparaError(err, 'INTERNAL')))
          .finally(() => {
            inFlight.delete(fail);
            o.signal?.removeEventListener('abort', onAbort);
          });
      });
    };
    offloaders.set(self.selfId, {
      serve: async (ids) => {
        for (const id of ids) serving.set(id, (serving.get(id) ?? new Set()).add(self));
      },
      unserve: (ids) => {
        for (const id of ids) serving.get(id)?.delete(self);
      },
      forward,
      close: () => {
        if (closed) return;
        closed = true;
        for (const set of serving.values()) set.delete(self);
        for (const fail of inFlight) fail(new EparaError('CLOSED', 'offloader closed'));
        inFlight.clear();
      },
    });
  }
  return offloaders;
}

runOffloaderContract('in-process registry (fake)', {
  createCluster: async (members) => {
    const offloaders = createMemoryOffloaders(members);
    return {
      offloaders,
      close: async () => {
        for (const o of offloaders.values()) o.close();
      },
    };
  },
});
