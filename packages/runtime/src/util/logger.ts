/**
 * The logging surface the runtime uses: the subset of pino's API it calls. Pass a pino logger (or anything
 * with these methods); the default is silent.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** A logger that discards everything: the default everywhere in the runtime. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
