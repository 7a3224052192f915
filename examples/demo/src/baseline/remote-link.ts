import { EparaError, toEparaError, type NamedTensors } from '@epara/core';
import { createWebSocketTransport, decodeFrame, encodeFrame, type Connection, type Transport } from '@epara/mesh';

/** Serves one request on a node of the baseline (its batcher or its chat engine). */
export type LocalServe = (node: number, serviceId: string, inputs: NamedTensors, timeoutMs: number) => Promise<NamedTensors>;

/** Request/response links between the baseline's servers. */
export interface RemoteLinks {
  /** Sends a request from server `from` to server `to` and waits for its answer. */
  call(from: number, to: number, serviceId: string, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors>;
  close(): Promise<void>;
}

/**
 * Real network hops for the baseline: a request served by a replica on another server crosses a WebSocket on
 * 127.0.0.1 carrying the same binary frames as EPARA's offloads (the mesh's `encodeFrame`/`decodeFrame`), so
 * that both systems pay the same serialization and socket cost for work done away from the entry server.
 * No authentication (a Triton client talks plain gRPC/HTTP by default).
 */
export async function startRemoteLinks(o: { nodes: number; serve: LocalServe }): Promise<RemoteLinks> {
  const transports: Transport[] = Array.from({ length: o.nodes }, () => createWebSocketTransport({ host: '127.0.0.1', port: 0 }));
  const pending = new Map<number, { resolve: (out: NamedTensors) => void; reject: (err: EparaError) => void }>();
  const links = new Map<string, Connection>();
  let nextId = 1;
  const close = async (): Promise<void> => {
    for (const p of pending.values()) p.reject(new EparaError('CLOSED', 'baseline links closed'));
    pending.clear();
    await Promise.all(transports.map((t) => t.close()));
  };
  try {
    const addresses: string[] = [];
    for (const [i, t] of transports.entries()) {
      t.on('connectionAccepted', ({ connection }) => serveConnection(connection, i, o.serve));
      addresses.push((await t.listen()).address);
    }
    for (let from = 0; from < o.nodes; from++) {
      for (let to = 0; to < o.nodes; to++) {
        if (from === to) continue;
        const c = await transports[from]!.connect(addresses[to]!);
        c.on('frameReceived', ({ frame }) => settle(frame, pending));
        links.set(`${from}>${to}`, c);
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    call(from, to, serviceId, inputs, timeoutMs) {
      const link = links.get(`${from}>${to}`);
      if (!link) return Promise.reject(new EparaError('PEER_UNAVAILABLE', `no link ${from}>${to}`));
      const requestId = nextId++;
      return new Promise<NamedTensors>((resolve, reject) => {
        pending.set(requestId, { resolve, reject });
        try {
          link.send(encodeFrame({ type: 'submit', requestId, serviceId, budgetMs: timeoutMs, hops: 0, maxHops: 0, visited: [], priority: 0, inputs }));
        } catch (err) {
          pending.delete(requestId);
          reject(toEparaError(err));
        }
      });
    },
    close,
  };
}

function serveConnection(connection: Connection, node: number, serve: LocalServe): void {
  connection.on('frameReceived', ({ frame }) => {
    const m = decodeFrame(frame);
    if (m.type !== 'submit') return;
    const reply = (bytes: () => Uint8Array): void => {
      if (!connection.isClosed) connection.send(bytes());
    };
    serve(node, m.serviceId, m.inputs, m.budgetMs).then(
      (outputs) => reply(() => encodeFrame({ type: 'result', requestId: m.requestId, outputs })),
      (err: unknown) => reply(() => encodeFrame({ type: 'error', requestId: m.requestId, error: toEparaError(err) })),
    );
  });
}

function settle(frame: Uint8Array, pending: Map<number, { resolve: (out: NamedTensors) => void; reject: (err: EparaError) => void }>): void {
  const m = decodeFrame(frame);
  const p = pending.get(m.requestId);
  if (!p) return;
  pending.delete(m.requestId);
  if (m.type === 'result') p.resolve(m.outputs);
  else if (m.type === 'error') p.reject(m.error);
  else p.reject(new EparaError('PROTOCOL_ERROR', `unexpected ${m.type} reply`));
}
