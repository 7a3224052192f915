import { EparaError, invalidOption } from '@epara/core';
import type { Random } from '@epara/core';

/** One direction of a memory link, as seen by fault hooks. */
export interface MemoryLinkInfo {
  /** Address (or dialer name) of the sender. */
  readonly from: string;
  /** Address (or dialer name) of the receiver. */
  readonly to: string;
}

/**
 * Injectable network faults for a {@link MemoryHub}. Loss drops a frame silently, which a real ordered,
 * reliable transport never does: use it to test what sits on top (sync tokens, retries, timeouts).
 */
export interface MemoryFaults {
  /** Delay added to each frame, ms; a function gets each frame's link. Order per link is kept. @default 0 */
  readonly delayMs?: number | ((link: MemoryLinkInfo) => number);
  /** Probability in [0, 1] that a frame is dropped. Needs `random`. @default 0 */
  readonly lossRate?: number;
  /** Seeded randomness for `lossRate` (core's `createSeededRandom`). */
  readonly random?: Random;
  /** Drops the frames for which it returns true (partitions, targeted loss). */
  readonly drop?: (link: MemoryLinkInfo, frame: Uint8Array) => boolean;
}

/** An endpoint the hub can hand a dialer to (implemented by the memory transport). */
export interface MemoryEndpoint {
  /** Called by the hub when `dialer` connects; returns the accepting side's receive hook. */
  accept(dialer: string): MemoryPeerSide;
}

/** Internal glue between the two sides of a memory link. */
export interface MemoryPeerSide {
  receive(frame: Uint8Array): void;
  closedByPeer(reason: string): void;
  /** Sets the hook the accepting side uses to reach the dialer. */
  attach(peer: MemoryPeerSide): void;
}

/**
 * An in-process registry of named addresses that memory transports listen on and dial. One hub is one
 * simulated network; faults apply to every frame crossing it and can be changed at any time.
 */
export interface MemoryHub {
  /** Current faults. */
  readonly faults: MemoryFaults;
  /** Replaces the faults (e.g. to heal a partition). */
  setFaults(faults: MemoryFaults): void;
  /** Addresses currently listening. */
  addresses(): string[];
  /** @internal used by memory transports */
  register(address: string, endpoint: MemoryEndpoint): void;
  /** @internal */
  unregister(address: string, endpoint: MemoryEndpoint): void;
  /** @internal */
  lookup(address: string): MemoryEndpoint | undefined;
  /** @internal the delay a frame gets, or `undefined` when it is dropped */
  route(link: MemoryLinkInfo, frame: Uint8Array): number | undefined;
}

function checkFaults(faults: MemoryFaults): MemoryFaults {
  const { lossRate = 0, delayMs = 0 } = faults;
  if (!(lossRate >= 0 && lossRate <= 1)) invalidOption('faults.lossRate', lossRate, 'a number in [0, 1]');
  if (lossRate > 0 && faults.random === undefined) invalidOption('faults.random', undefined, 'a Random when lossRate > 0');
  if (typeof delayMs === 'number' && !(delayMs >= 0)) invalidOption('faults.delayMs', delayMs, 'a number >= 0 or a function');
  return faults;
}

/**
 * Creates a {@link MemoryHub}.
 *
 * @example
 * ```ts
 * const hub = createMemoryHub({ faults: { lossRate: 0.1, random: createSeededRandom(1) } });
 * const a = createMemoryTransport({ hub, address: 'a' });
 * ```
 * @throws EparaError `INVALID_OPTIONS` for a bad fault setting.
 */
export function createMemoryHub(options: { faults?: MemoryFaults } = {}): MemoryHub {
  const endpoints = new Map<string, MemoryEndpoint>();
  let faults = checkFaults(options.faults ?? {});
  return {
    get faults() {
      return faults;
    },
    setFaults(next) {
      faults = checkFaults(next);
    },
    addresses: () => [...endpoints.keys()],
    register(address, endpoint) {
      const existing = endpoints.get(address);
      if (existing !== undefined && existing !== endpoint) {
        throw new EparaError('INVALID_OPTIONS', `memory address \`${address}\` is already in use`, { field: 'address', value: address });
      }
      endpoints.set(address, endpoint);
    },
    unregister(address, endpoint) {
      if (endpoints.get(address) === endpoint) endpoints.delete(address);
    },
    lookup: (address) => endpoints.get(address),
    route(link, frame) {
      if (faults.drop?.(link, frame) === true) return undefined;
      if ((faults.lossRate ?? 0) > 0 && (faults.random as Random).next() < (faults.lossRate ?? 0)) return undefined;
      const d = faults.delayMs ?? 0;
      const ms = typeof d === 'function' ? d(link) : d;
      return Number.isFinite(ms) && ms > 0 ? ms : 0;
    },
  };
}
