/**
 * Errors the docs check is known to find in a guide, each a substring of a compiler message in that guide
 * (today none). The test fails
 * on any error not listed here AND on any entry that no longer matches, so this list only shrinks: when a
 * guide is fixed, delete its entries.
 */
export const KNOWN_ISSUES: Readonly<Record<string, readonly string[]>> = {};
