import type { EparaErrorCode } from '@epara/core';
import type { ZonePartial } from './zone-run.js';

/** The main thread asks a zone worker to simulate one zone. */
export interface ToWorker {
  readonly zone: number;
}

/** A zone worker's answer: the zone's partial, or what it threw (an `EparaError` keeps its code). */
export type FromWorker =
  | { readonly zone: number; readonly partial: ZonePartial }
  | { readonly zone: number; readonly error: { readonly code: EparaErrorCode | null; readonly message: string; readonly stack: string } };
