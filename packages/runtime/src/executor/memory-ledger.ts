import { EparaError } from '@epara/core';

/**
 * Memory accounting of one device: what each instance holds (declared before loading, then the larger of
 * declared and measured). Over-commit is refused with `OUT_OF_MEMORY`.
 */
export class MemoryLedger {
  readonly deviceId: string;
  readonly capacityBytes: number;
  readonly #held = new Map<string, number>();

  constructor(deviceId: string, capacityBytes: number) {
    this.deviceId = deviceId;
    this.capacityBytes = capacityBytes;
  }

  get usedBytes(): number {
    let n = 0;
    for (const v of this.#held.values()) n += v;
    return n;
  }

  get freeBytes(): number {
    return this.capacityBytes - this.usedBytes;
  }

  /**
   * Sets what `owner` holds (replacing its previous amount).
   * @throws EparaError `OUT_OF_MEMORY` when the total would exceed the capacity; nothing changes then.
   */
  hold(owner: string, bytes: number): void {
    const others = this.usedBytes - (this.#held.get(owner) ?? 0);
    if (others + bytes > this.capacityBytes) {
      throw new EparaError('OUT_OF_MEMORY', `device ${this.deviceId}: ${owner} needs ${bytes} bytes, ${this.capacityBytes - others} free`, {
        deviceId: this.deviceId,
        owner,
        neededBytes: bytes,
        freeBytes: this.capacityBytes - others,
      });
    }
    this.#held.set(owner, bytes);
  }

  release(owner: string): void {
    this.#held.delete(owner);
  }
}
