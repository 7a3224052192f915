/**
 * The logging shape EPARA writes to: a subset of pino's API, so a pino logger (or a child of one) can be
 * passed directly. Library code never writes to the console; the default is {@link silentLogger}.
 */
export interface MeshLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const noop = (): void => undefined;

/** A logger that drops everything (the default). */
export const silentLogger: MeshLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** True when `value` has the four methods a {@link MeshLogger} needs. */
export function isMeshLogger(value: unknown): value is MeshLogger {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((k) => typeof v[k] === 'function');
}
