/** Builds an element with a class and children; text is always set as text, never parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) if (c !== undefined) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** Replaces the children of `parent` with `nodes`. */
export function replace(parent: Element, nodes: Node[]): void {
  parent.replaceChildren(...nodes);
}

export function fmtRate(v: number): string {
  return v === 0 ? '0' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Axis ticks: as few digits as tell them apart. */
export function fmtTick(v: number): string {
  return v === 0 ? '0' : Math.abs(v) >= 10 ? v.toFixed(0) : Math.abs(v) >= 1 ? String(Math.round(v * 10) / 10) : String(Math.round(v * 100) / 100);
}

export function fmtMs(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(0)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
}

export function fmtBytes(v: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(v >= 10 || i === 0 ? 0 : 1)} ${units[i]}`;
}

export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}
