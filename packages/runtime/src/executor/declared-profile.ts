import type { ExecutorServiceOptions } from './executor-options.js';

/**
 * The service as an instance on devices of profile key `deviceKind` runs it: without a `profile` of its own, it
 * takes the one its core `profiles` declare for that key (otherwise the instance measures one at load).
 */
export function withDeclaredProfile(service: ExecutorServiceOptions, deviceKind: string): ExecutorServiceOptions {
  if (service.profile !== undefined) return service;
  const declared = service.profiles?.[deviceKind];
  return declared === undefined ? service : { ...service, profile: declared };
}
