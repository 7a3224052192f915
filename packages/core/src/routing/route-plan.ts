import type { ServerId } from '../model/device.js';

/** Why `routeRequestInto` rejects a request (the codes of `RouteDecision`'s rejections). */
export type RouteRejectCode = 'DEADLINE_INFEASIBLE' | 'NO_INSTANCE' | 'OVERLOADED' | 'HOP_LIMIT';

/**
 * A routing decision that `routeRequestInto` writes into, owned by the caller and reused from call to call,
 * for a host that routes every request and needs only where it goes: no candidate list, next hop or reason is
 * built (see `routeRequest` for those). Valid until the next call with the same plan.
 *
 * @example
 * ```ts
 * const plan = new RoutePlan();
 * routeRequestInto(input, plan);
 * if (plan.action === 'reject') fail(plan.code);
 * ```
 */
export class RoutePlan {
  /** Queue here, forward to `serverId`, or reject with `code`. */
  action: 'local' | 'forward' | 'reject' = 'reject';
  /** Where the request goes: the peer for `forward`, this server for `local`; `''` for `reject`. */
  serverId: ServerId = '';
  /** The estimate the decision was made on, ms (the local estimate, or the peer's); `NaN` for `reject`. */
  estimateAt = Number.NaN;
  /** Set for `reject` only. */
  code: RouteRejectCode | undefined = undefined;
}
