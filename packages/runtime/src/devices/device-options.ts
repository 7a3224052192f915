import { invalidOption } from '@epara/core';
import { silentLogger, type Logger } from '@epara/core';
import type { BackendSpec } from './backend.js';
import type { DeviceOptions } from './device-port.js';
import { withRenamedDeviceFields } from './renamed-device-fields.js';

/** Defaults of {@link DeviceOptions}. */
export const DEFAULT_DEVICE_OPTIONS = {
  provider: 'cpu',
  ordinal: 0,
  threads: 1,
  spinWait: false,
  memoryBytes: Number.POSITIVE_INFINITY,
  maxRestarts: 5,
  inputSlabBytes: 8 * 1024 * 1024,
  inputSlabs: 4,
  doorbellSlotBytes: 64 * 1024,
  doorbellSpinUs: 0,
  closeWaitMs: 30_000,
} as const;

/** The longest doorbell poll a device takes (1 ms: past it, a parked worker's wake-up costs less than the poll). */
const MAX_DOORBELL_SPIN_US = 1000;

/** {@link DeviceOptions} with every default filled in. */
export interface ResolvedDeviceOptions {
  readonly id: string;
  readonly provider: 'cpu' | 'cuda';
  readonly ordinal: number;
  readonly threads: number;
  readonly spinWait: boolean;
  readonly memoryBytes: number;
  readonly logger: Logger;
  readonly backend: BackendSpec;
  readonly maxRestarts: number;
  readonly inputSlabBytes: number;
  readonly inputSlabs: number;
  readonly doorbellSlotBytes: number;
  readonly doorbellSpinUs: number;
  readonly closeWaitMs: number;
  /** Undefined: the package's built worker, located when the worker first starts. */
  readonly workerUrl: URL | undefined;
}

/**
 * Fills defaults and validates device options.
 * @throws EparaError `INVALID_OPTIONS` naming the field and value.
 */
export function resolveDeviceOptions(options: DeviceOptions, field = 'device'): ResolvedDeviceOptions {
  if (typeof options !== 'object' || options === null) invalidOption(field, options, 'an object');
  const o = withRenamedDeviceFields(options, field);
  if (typeof o.id !== 'string' || o.id === '') invalidOption(`${field}.id`, o.id, 'a non-empty string');
  const provider = o.provider ?? DEFAULT_DEVICE_OPTIONS.provider;
  if (provider !== 'cpu' && provider !== 'cuda') invalidOption(`${field}.provider`, provider, "'cpu' or 'cuda'");
  const ordinal = o.ordinal ?? DEFAULT_DEVICE_OPTIONS.ordinal;
  if (!Number.isInteger(ordinal) || ordinal < 0) invalidOption(`${field}.ordinal`, ordinal, 'a non-negative integer');
  const threads = o.threads ?? DEFAULT_DEVICE_OPTIONS.threads;
  if (!Number.isInteger(threads) || threads < 1) invalidOption(`${field}.threads`, threads, 'a positive integer');
  const spinWait = o.spinWait ?? DEFAULT_DEVICE_OPTIONS.spinWait;
  if (typeof spinWait !== 'boolean') invalidOption(`${field}.spinWait`, spinWait, 'a boolean');
  const memoryBytes = o.memoryBytes ?? DEFAULT_DEVICE_OPTIONS.memoryBytes;
  if (!(memoryBytes > 0)) invalidOption(`${field}.memoryBytes`, memoryBytes, 'a positive number');
  const maxRestarts = o.maxRestarts ?? DEFAULT_DEVICE_OPTIONS.maxRestarts;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) invalidOption(`${field}.maxRestarts`, maxRestarts, 'a non-negative integer');
  const inputSlabBytes = o.inputSlabBytes ?? DEFAULT_DEVICE_OPTIONS.inputSlabBytes;
  if (!Number.isInteger(inputSlabBytes) || inputSlabBytes < 0) invalidOption(`${field}.inputSlabBytes`, inputSlabBytes, 'a non-negative integer (bytes; 0 turns slabs off)');
  const inputSlabs = o.inputSlabs ?? DEFAULT_DEVICE_OPTIONS.inputSlabs;
  if (!Number.isInteger(inputSlabs) || inputSlabs < 0) invalidOption(`${field}.inputSlabs`, inputSlabs, 'a non-negative integer');
  const doorbellSlotBytes = o.doorbellSlotBytes ?? DEFAULT_DEVICE_OPTIONS.doorbellSlotBytes;
  if (!Number.isInteger(doorbellSlotBytes) || doorbellSlotBytes < 0) invalidOption(`${field}.doorbellSlotBytes`, doorbellSlotBytes, 'a non-negative integer (bytes; 0 turns the doorbell off)');
  const doorbellSpinUs = o.doorbellSpinUs ?? DEFAULT_DEVICE_OPTIONS.doorbellSpinUs;
  if (typeof doorbellSpinUs !== 'number' || !(doorbellSpinUs >= 0) || doorbellSpinUs > MAX_DOORBELL_SPIN_US) invalidOption(`${field}.doorbellSpinUs`, doorbellSpinUs, `a number of microseconds from 0 to ${MAX_DOORBELL_SPIN_US}`);
  const closeWaitMs = o.closeWaitMs ?? DEFAULT_DEVICE_OPTIONS.closeWaitMs;
  if (typeof closeWaitMs !== 'number' || !(closeWaitMs >= 0) || !Number.isFinite(closeWaitMs)) invalidOption(`${field}.closeWaitMs`, closeWaitMs, 'a finite number of ms >= 0');
  const backend = resolveBackendSpec(o.backend, `${field}.backend`);
  if (o.workerUrl !== undefined && !(o.workerUrl instanceof URL)) invalidOption(`${field}.workerUrl`, o.workerUrl, 'a URL');
  return {
    id: o.id,
    provider,
    ordinal,
    threads,
    spinWait,
    memoryBytes,
    logger: o.logger ?? silentLogger,
    backend,
    maxRestarts,
    inputSlabBytes,
    inputSlabs,
    doorbellSlotBytes,
    doorbellSpinUs,
    closeWaitMs,
    workerUrl: o.workerUrl,
  };
}

/**
 * Validates a backend spec; a module backend's URL becomes its string form (a `URL` does not cross into a
 * worker thread).
 */
function resolveBackendSpec(spec: BackendSpec | undefined, field: string): BackendSpec {
  const b = spec ?? { kind: 'ort' };
  if (typeof b !== 'object' || b === null) invalidOption(field, b, "a backend spec ({ kind: 'ort' | 'fake' | 'module' })");
  if (b.kind === 'ort' || b.kind === 'fake') return b;
  if (b.kind !== 'module') invalidOption(`${field}.kind`, (b as { kind: unknown }).kind, "'ort', 'fake' or 'module'");
  const url = b.url instanceof URL ? b.url.href : b.url;
  if (typeof url !== 'string' || !URL.canParse(url)) invalidOption(`${field}.url`, b.url, 'a URL of an ES module exporting createBackend');
  return { kind: 'module', url, ...(b.options !== undefined ? { options: b.options } : {}) };
}
