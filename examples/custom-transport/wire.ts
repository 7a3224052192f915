/** One message of the broadcast transport's protocol, posted on the shared `BroadcastChannel`. */
export interface BusMessage {
  /** Protocol version. */
  readonly v: 1;
  /** Endpoint (transport instance) the message is for; every other endpoint ignores it. */
  readonly to: string;
  /** Endpoint that sent it (where replies go). */
  readonly from: string;
  /** Connection id, chosen by the dialer, unique on the bus. */
  readonly conn: string;
  /** `open` dials, `accept` answers it, `frame` carries data, `close` ends the connection (either side). */
  readonly op: 'open' | 'accept' | 'frame' | 'close';
  readonly data?: Uint8Array;
  readonly reason?: string;
  /** Set on `close` when the peer closed because of a protocol violation (an oversized frame). */
  readonly protocolError?: boolean;
}

const OPS = new Set(['open', 'accept', 'frame', 'close']);

/**
 * Validates a message from the bus: anything else on the channel (another program, a newer version, garbage)
 * is ignored rather than trusted.
 */
export function parseBusMessage(value: unknown): BusMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m['v'] !== 1 || typeof m['to'] !== 'string' || typeof m['from'] !== 'string' || typeof m['conn'] !== 'string') return undefined;
  if (typeof m['op'] !== 'string' || !OPS.has(m['op'])) return undefined;
  if (m['op'] === 'frame' && !(m['data'] instanceof Uint8Array)) return undefined;
  return value as BusMessage;
}
