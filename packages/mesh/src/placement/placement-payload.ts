import type { DeviceId, DeviceSpec, PlacedInstance, PlacementStep, ServerId } from '@epara/core';

/** Which devices one hosted instance occupies (the view's instance entries do not carry devices). */
export interface HostedDevices {
  readonly instanceId: string;
  readonly deviceIds: readonly DeviceId[];
}

/**
 * A server tells the placement leader which devices it has (the view carries load, not hardware), and on
 * which devices its instances run where its executor reports them (so host-loaded instances are adopted
 * on their real devices).
 */
export interface DeviceReport {
  readonly kind: 'devices';
  readonly serverId: ServerId;
  readonly devices: readonly DeviceSpec[];
  /** @default [] */
  readonly instances?: readonly HostedDevices[];
  /** The reporter's measured one-way delays to its peers, ms (locality-aware placement). @default none */
  readonly delaysMs?: Readonly<Record<ServerId, number>>;
  /** The highest leadership term the reporter has seen ({@link PlacementDecision.term}). @default none (an older build) */
  readonly term?: number;
  /** The leader that took {@link term} (two leaders apart may draw one number). @default none (an older build) */
  readonly termLeader?: ServerId;
  /**
   * The last decision of the leader reported to that the reporter holds (its `leaderEpoch` and `seq`): the leader
   * resends its decision to a server whose report does not show it. A server reports once more on each decision it
   * gets from its leader, so this is the decision's acknowledgement. @default none (no decision of that leader, or
   * an older build)
   */
  readonly decided?: { readonly leaderEpoch: number; readonly seq: number };
}

/**
 * A delay probe: `sentAt` is the prober's clock; the peer echoes it with `reply: true`, and the prober takes
 * the round trip on its own clock.
 */
export interface DelayProbe {
  readonly kind: 'probe';
  readonly sentAt: number;
  readonly reply: boolean;
}

/** The leader's decision: the whole next placement and the ordered make-before-break steps. */
export interface PlacementDecision {
  readonly kind: 'placement';
  readonly leader: ServerId;
  /** The leader's epoch and a counter: a newer decision replaces an older one. */
  readonly leaderEpoch: number;
  readonly seq: number;
  /**
   * `start`: the first placement; `failure`: a server left; `joined`: a server's devices became known after
   * placement started; `manual`: the host's `placeNow()`.
   */
  readonly trigger: 'period' | 'failure' | 'start' | 'joined' | 'manual';
  readonly instances: readonly PlacedInstance[];
  readonly changes: readonly PlacementStep[];
  readonly goodputPerSec: number;
  /**
   * The leadership term: a server that starts to lead — first, after another led, or after it was away (a
   * frozen or cut-off leader that comes back) — leads under a term above every one it has seen, and a server
   * refuses a decision of a lower term than one it applied. So a stale leader's decision, delayed on the way or
   * computed before it was failed over, cannot undo the newer leader's. @default none (an older build: not fenced)
   */
  readonly term?: number;
}

/** The JSON payload of a `placement` protocol message. */
export type PlacementPayload = DeviceReport | PlacementDecision | DelayProbe;

/** Parses an untrusted payload; `undefined` when it is not a well-formed {@link PlacementPayload}. */
export function parsePlacementPayload(value: unknown): PlacementPayload | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v['kind'] === 'devices' && typeof v['serverId'] === 'string' && Array.isArray(v['devices'])) {
    const ok = v['devices'].every((d) => isObj(d) && typeof d['id'] === 'string' && typeof d['kind'] === 'string' && typeof d['memoryBytes'] === 'number');
    const hosted = v['instances'] === undefined || (Array.isArray(v['instances']) && v['instances'].every(isHostedDevices));
    const delays = v['delaysMs'] === undefined || (isObj(v['delaysMs']) && Object.values(v['delaysMs']).every((d) => typeof d === 'number'));
    const termLeader = v['termLeader'] === undefined || typeof v['termLeader'] === 'string';
    const d = v['decided'];
    const decided = d === undefined || (isObj(d) && typeof d['leaderEpoch'] === 'number' && typeof d['seq'] === 'number');
    return ok && hosted && delays && isTerm(v['term']) && termLeader && decided ? (value as DeviceReport) : undefined;
  }
  if (v['kind'] === 'probe' && typeof v['sentAt'] === 'number' && Number.isFinite(v['sentAt']) && typeof v['reply'] === 'boolean') {
    return value as DelayProbe;
  }
  if (
    v['kind'] === 'placement' &&
    typeof v['leader'] === 'string' &&
    typeof v['leaderEpoch'] === 'number' &&
    typeof v['seq'] === 'number' &&
    isTerm(v['term']) &&
    Array.isArray(v['instances']) &&
    Array.isArray(v['changes']) &&
    v['instances'].every((i) => isObj(i) && typeof i['instanceId'] === 'string' && typeof i['serverId'] === 'string' && isObj(i['plan'])) &&
    v['changes'].every((c) => isObj(c) && typeof c['action'] === 'string' && typeof c['instanceId'] === 'string' && typeof c['serverId'] === 'string')
  ) {
    return value as PlacementDecision;
  }
  return undefined;
}

function isHostedDevices(h: unknown): boolean {
  return isObj(h) && typeof h['instanceId'] === 'string' && Array.isArray(h['deviceIds']) && h['deviceIds'].every((d) => typeof d === 'string');
}

function isTerm(t: unknown): boolean {
  return t === undefined || (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0);
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}
