/** A fenced TypeScript block of a guide. */
export interface Snippet {
  /** Guide path relative to the repository root, e.g. `docs/runtime.md`. */
  readonly guide: string;
  /** 1-based line of the guide where the code starts (the line after the opening fence). */
  readonly line: number;
  /** Words after the language on the fence line, e.g. `['no-check']` or `['continued']`. */
  readonly flags: readonly string[];
  readonly code: string;
  /** Hidden lines from a `<!-- doc-prelude: … -->` comment right above the fence (declarations the prose implies). */
  readonly prelude: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\b(.*)$/;

/**
 * Extracts ```ts / ```typescript blocks from markdown. Other languages are ignored. Fence flags:
 * `no-check` skips a block (a deliberately partial fragment); `continued` appends it to the guide's previous
 * checked block, so a walkthrough split over sections is checked as one module; `run` also executes the
 * block (after the typecheck) in the test process. An HTML comment
 * `<!-- doc-prelude: declare const executor: Executor; -->` right above a fence adds hidden lines before it.
 */
export function extractSnippets(guide: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const flags = open[4]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) body.push(lines[j++]!);
    out.push({ guide, line: i + 2, flags, code: body.join('\n'), prelude: preludeAbove(lines, i) });
    i = j;
  }
  return out;
}

/**
 * The text of the `<!-- doc-prelude: … -->` comments among the HTML comments stacked right above `fenceLine`
 * (blank lines allowed), so a prelude can sit above other markers such as `<!-- snippet: name -->`.
 */
function preludeAbove(lines: readonly string[], fenceLine: number): string {
  const found: string[] = [];
  let end = fenceLine - 1;
  for (;;) {
    while (end >= 0 && lines[end]!.trim() === '') end--;
    if (end < 0 || !lines[end]!.trimEnd().endsWith('-->')) break;
    let start = end;
    while (start > 0 && !lines[start]!.includes('<!--')) start--;
    const comment = lines.slice(start, end + 1).join('\n');
    const m = /<!--\s*doc-prelude:([\s\S]*?)-->/.exec(comment);
    if (m) found.unshift(m[1]!.trim());
    end = start - 1;
  }
  return found.join('\n');
}
