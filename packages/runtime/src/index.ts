/**
 * `@epara/runtime` — being built; see its issue.
 *
 * @packageDocumentation
 */
export {};
