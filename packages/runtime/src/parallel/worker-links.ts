import type { MessagePort } from 'node:worker_threads';
import { EparaError, type NamedTensors, type TensorDataArray, type TensorLike } from '@epara/core';
import { tensorByteLength } from '@epara/core/internal';
import type { LinkInbound, LinkOutbound } from './stage-links.js';

/* Worker side of pipeline links: the ends of worker-to-worker channels a device worker holds. */

interface Delivery {
  readonly batch: number;
  readonly values: NamedTensors;
}

/** The links of one device worker: outgoing ports, and per incoming link the values waiting for their run. */
export class WorkerLinks {
  readonly #out = new Map<string, MessagePort>();
  readonly #in = new Map<string, { port: MessagePort; arrived: Map<number, NamedTensors>; waiting: Map<number, (v: NamedTensors) => void> }>();

  attach(link: string, end: 'out' | 'in', port: MessagePort): void {
    this.detach(link);
    if (end === 'out') {
      this.#out.set(link, port);
      return;
    }
    const entry = { port, arrived: new Map<number, NamedTensors>(), waiting: new Map<number, (v: NamedTensors) => void>() };
    port.on('message', ({ batch, values }: Delivery) => {
      const wake = entry.waiting.get(batch);
      if (wake === undefined) entry.arrived.set(batch, values);
      else {
        entry.waiting.delete(batch);
        wake(values);
      }
    });
    this.#in.set(link, entry);
  }

  detach(link: string): void {
    this.#out.get(link)?.close();
    this.#out.delete(link);
    const entry = this.#in.get(link);
    if (entry === undefined) return;
    entry.port.close();
    this.#in.delete(link);
  }

  /**
   * The values the inbound links carried for their batches (waits for those still in flight: the sender
   * posted them before it answered the host).
   * @throws EparaError `WORKER_CRASHED` when a link is unknown here (this worker restarted since it was opened).
   */
  async receive(inbound: readonly LinkInbound[]): Promise<NamedTensors> {
    const parts = await Promise.all(
      inbound.map(({ link, batch }) => {
        const entry = this.#in.get(link);
        if (entry === undefined) throw new EparaError('WORKER_CRASHED', `pipeline link ${link} is gone (a device worker restarted); the hand-off was lost`, { link });
        const ready = entry.arrived.get(batch);
        if (ready !== undefined) {
          entry.arrived.delete(batch);
          return ready;
        }
        return new Promise<NamedTensors>((resolve) => entry.waiting.set(batch, resolve));
      }),
    );
    return Object.assign({}, ...parts) as NamedTensors;
  }

  /** Checks that every outbound link exists (before running, so a lost link fails the run, not its output). */
  checkOut(outbound: readonly LinkOutbound[]): void {
    for (const o of outbound) {
      if (!this.#out.has(o.link)) throw new EparaError('WORKER_CRASHED', `pipeline link ${o.link} is gone (a device worker restarted)`, { link: o.link });
    }
  }

  /** Hands outputs to their links (transferred when nothing else needs them) and returns the bytes sent. */
  send(outputs: NamedTensors, outbound: readonly LinkOutbound[], keep: readonly string[]): number {
    let bytes = 0;
    const uses = new Map<string, number>();
    for (const name of keep) uses.set(name, (uses.get(name) ?? 0) + 1);
    for (const o of outbound) for (const name of o.names) uses.set(name, (uses.get(name) ?? 0) + 1);
    for (const o of outbound) {
      const values: Record<string, TensorLike> = {};
      const transfer: ArrayBuffer[] = [];
      for (const name of o.names) {
        const t = outputs[name];
        if (t === undefined) throw new EparaError('MODEL_ERROR', `stage produced no output ${name}`, { name });
        const left = uses.get(name)! - 1;
        uses.set(name, left);
        if (Array.isArray(t.data)) {
          // A string tensor's array is cloned by postMessage: nothing to transfer.
          values[name] = t;
          bytes += tensorByteLength(t);
          continue;
        }
        const typed = t.data as TensorDataArray;
        const whole = typed.byteOffset === 0 && typed.byteLength === typed.buffer.byteLength && !(typed.buffer instanceof SharedArrayBuffer);
        const data = left > 0 || !whole || transfer.includes(typed.buffer as ArrayBuffer) ? typed.slice() : typed;
        transfer.push(data.buffer as ArrayBuffer);
        values[name] = { type: t.type, dims: t.dims, data };
        bytes += data.byteLength;
      }
      this.#out.get(o.link)!.postMessage({ batch: o.batch, values } satisfies Delivery, transfer);
    }
    return bytes;
  }
}
