import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import type { EparaErrorCode, LocalExecutor, NamedTensors, ServerId } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import type { Offloader } from './offloader.js';

/** A member handed to {@link OffloaderContractFactory.createCluster}: its id and its local executor. */
export interface OffloaderMember {
  readonly selfId: ServerId;
  readonly executor: LocalExecutor;
}

/** A group of offloaders built by a {@link OffloaderContractFactory}, one per member, able to reach each other. */
export interface OffloaderCluster {
  readonly offloaders: ReadonlyMap<ServerId, Offloader>;
  /** Closes every offloader and releases the cluster's resources. */
  close(): Promise<void>;
}

/** What an offloader under test provides to {@link runOffloaderContract}. */
export interface OffloaderContractFactory {
  /** Builds one offloader per member (real time, the platform clock), none serving anything yet. */
  createCluster(members: readonly OffloaderMember[]): Promise<OffloaderCluster>;
}

const input: NamedTensors = { x: { type: 'float32', dims: [2], data: new Float32Array([1, 2]) } };
const tagOf = (out: NamedTensors): number => (out['server']!.data as Int32Array)[0]!;
// A service nobody reaches: the offloader may know it (NO_INSTANCE) or find nobody answering (PEER_UNAVAILABLE).
const UNREACHABLE: readonly EparaErrorCode[] = ['NO_INSTANCE', 'PEER_UNAVAILABLE'];

async function codeOfRejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isEparaError(err) ? err.code : `not an EparaError: ${String(err)}`;
  }
  return 'resolved';
}

/**
 * The shared behaviour every {@link Offloader} must have (the NATS queue-group offloader and a host's own run
 * it): a forward reaches a server that serves the service and returns its outputs, every forward settles with an
 * `EparaError` code when it cannot (nobody serves, unserved, aborted, deadline passed, closed), and `close()`
 * rejects what is in flight with `CLOSED` and is idempotent. Members run mesh's fake executor (`echo` takes 1 ms,
 * `slow` 3 s; outputs carry a `server` tag: member index). Call it inside a vitest test file.
 *
 * @example
 * ```ts
 * runOffloaderContract('my offloader', { createCluster: (members) => startMyOffloaders(members) });
 * ```
 */
export function runOffloaderContract(name: string, factory: OffloaderContractFactory): void {
  describe(`Offloader contract: ${name}`, () => {
    const open: OffloaderCluster[] = [];
    let members: OffloaderMember[] = [];
    const cluster = async (size: number): Promise<[Offloader, ...Offloader[]]> => {
      members = Array.from({ length: size }, (_, i) => ({
        selfId: `off-${i}`,
        executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 1 }, slow: { serviceTimeMs: 3000 } }, hosted: ['echo', 'slow'], tag: i }),
      }));
      const c = await factory.createCluster(members);
      open.push(c);
      return members.map((m) => c.offloaders.get(m.selfId)!) as [Offloader, ...Offloader[]];
    };
    const soon = (ms = 5000): number => Date.now() + ms;
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });

    it('forwards to a server that serves the service and returns its outputs', async () => {
      const [a, b] = await cluster(2);
      await b!.serve(['echo']);
      const out = await a.forward('echo', input, { deadline: soon() });
      expect(tagOf(out)).toBe(1);
      const local = await members[1]!.executor.submit('echo', input, { deadline: soon() });
      expect(Array.from(out['x']!.data as Float32Array)).toEqual(Array.from(local['x']!.data as Float32Array));
    });

    it('rejects a service nobody serves with an error code, and one that was unserved likewise', async () => {
      const [a, b] = await cluster(2);
      expect(UNREACHABLE).toContain(await codeOfRejection(a.forward('echo', input, { deadline: soon(1500) })));
      await b!.serve(['echo']);
      expect(tagOf(await a.forward('echo', input, { deadline: soon() }))).toBe(1);
      b!.unserve(['echo']);
      expect(UNREACHABLE).toContain(await codeOfRejection(a.forward('echo', input, { deadline: soon(1500) })));
    });

    it('rejects a forward aborted before or during its run with ABORTED, and one past its deadline with a deadline code', async () => {
      const [a, b] = await cluster(2);
      await b!.serve(['echo', 'slow']);
      const aborted = new AbortController();
      aborted.abort();
      expect(await codeOfRejection(a.forward('echo', input, { deadline: soon(), signal: aborted.signal }))).toBe('ABORTED');
      const late = new AbortController();
      const pending = a.forward('slow', input, { deadline: soon(), signal: late.signal });
      setTimeout(() => late.abort(), 50);
      expect(await codeOfRejection(pending)).toBe('ABORTED');
      expect(['DEADLINE_EXCEEDED', 'DEADLINE_INFEASIBLE']).toContain(await codeOfRejection(a.forward('echo', input, { deadline: Date.now() - 1 })));
    });

    it('rejects forwards in flight and after close with CLOSED; close is idempotent', async () => {
      const [a, b] = await cluster(2);
      await b!.serve(['slow', 'echo']);
      const inFlight = a.forward('slow', input, { deadline: soon(30_000) });
      await new Promise((r) => setTimeout(r, 50));
      a.close();
      expect(await codeOfRejection(inFlight)).toBe('CLOSED');
      expect(await codeOfRejection(a.forward('echo', input, { deadline: soon() }))).toBe('CLOSED');
      a.close();
    });
  });
}
