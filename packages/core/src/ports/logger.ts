/**
 * The logging shape EPARA writes to: the subset of pino's API it calls, so a pino logger (or a child of one) can
 * be passed directly. Library code never writes to the console; the default is {@link silentLogger}.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

const noop = (): void => undefined;

/** A logger that drops everything: the default everywhere. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** True when `value` has the four methods a {@link Logger} needs (for validating a host's `logger` option). */
export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((k) => typeof v[k] === 'function');
}
