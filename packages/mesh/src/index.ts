/**
 * `@epara/mesh` — being built; see its issue.
 *
 * @packageDocumentation
 */
export {};
