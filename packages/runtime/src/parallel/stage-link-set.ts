import type { DeviceHandle } from '../devices/device-port.js';
import { hasStageLinks, type StageLinkDevice } from './stage-links.js';

/**
 * The worker-to-worker links of one pipeline: one per (producer stage, consumer stage) pair that hands
 * values on, opened on first use. A crash of either device's worker drops the pair's link (the restarted
 * worker has none); the next batch opens a fresh one under a new name, so a run that still names the old
 * link fails `WORKER_CRASHED` instead of waiting forever.
 */
export class StageLinkSet {
  readonly #devices: readonly (DeviceHandle & StageLinkDevice)[];
  readonly #key: string;
  readonly #links = new Map<string, { name: string; ready: Promise<string>; from: number; to: number }>();
  readonly #listeners: { device: DeviceHandle; fn: () => void }[] = [];
  #generation = 0;

  private constructor(devices: readonly (DeviceHandle & StageLinkDevice)[], key: string) {
    this.#devices = devices;
    this.#key = key;
    for (const device of new Set(devices)) {
      const fn = (): void => this.#dropLinksOf(device);
      device.on('workerCrashed', fn);
      this.#listeners.push({ device, fn });
    }
  }

  /**
   * Links for these stage devices, or `undefined` when some device cannot link (then values go through the
   * host). Opens the `pairs` links at once so that a device pair that cannot be linked is found now.
   */
  static async open(devices: readonly DeviceHandle[], key: string, pairs: readonly (readonly [number, number])[]): Promise<StageLinkSet | undefined> {
    if (!devices.every((d) => hasStageLinks(d))) return undefined;
    const set = new StageLinkSet(devices as (DeviceHandle & StageLinkDevice)[], key);
    try {
      const ok = await Promise.all(pairs.map(([i, j]) => set.#open(i, j).then(() => true, () => false)));
      if (ok.every(Boolean)) return set;
    } catch {
      // fall through: not linkable
    }
    await set.close();
    return undefined;
  }

  /** The name of the open link from stage `from`'s worker to stage `to`'s (opened if needed). */
  link(from: number, to: number): Promise<string> {
    return this.#links.get(`${from}>${to}`)?.ready ?? this.#open(from, to);
  }

  /** Closes every link and stops listening to the devices. */
  async close(): Promise<void> {
    for (const { device, fn } of this.#listeners) device.off('workerCrashed', fn);
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map((l) => this.#close(l)));
  }

  #open(from: number, to: number): Promise<string> {
    const name = `${this.#key}/link${from}-${to}#${++this.#generation}`;
    const ready = this.#devices[from]!.linkTo(this.#devices[to], name).then((ok) => {
      if (!ok) throw new Error(`stage ${to}'s device cannot be linked`);
      return name;
    });
    const entry = { name, ready, from, to };
    this.#links.set(`${from}>${to}`, entry);
    ready.catch(() => {
      if (this.#links.get(`${from}>${to}`) === entry) this.#links.delete(`${from}>${to}`);
    });
    return ready;
  }

  #dropLinksOf(device: DeviceHandle): void {
    for (const [pair, l] of this.#links) {
      if (this.#devices[l.from] !== device && this.#devices[l.to] !== device) continue;
      this.#links.delete(pair);
      void this.#close(l);
    }
  }

  async #close(l: { name: string; ready: Promise<string>; from: number; to: number }): Promise<void> {
    await l.ready.catch(() => undefined);
    await Promise.all([this.#devices[l.from]!.unlink(l.name), this.#devices[l.to]!.unlink(l.name)]);
  }
}
