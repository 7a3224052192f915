/**
 * `@epara/sim` — being built; see its issue.
 *
 * @packageDocumentation
 */
export {};
