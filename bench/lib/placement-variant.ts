/** One named set of placement options a simulator bench runs EPARA with (`--variant name:option=value,…`). */
export interface PlacementVariant {
  readonly name: string;
  readonly placementOptions: Record<string, unknown>;
}

/**
 * Parses a `--variant` argument, `name:option=value,…`: `true`/`false` become booleans, numbers numbers, anything
 * else stays a string (e.g. `shortage:shortage=estimate,minServedShare=1`).
 */
export function parsePlacementVariant(spec: string): PlacementVariant {
  const [name, list] = spec.split(':');
  const placementOptions: Record<string, unknown> = {};
  for (const kv of list!.split(',')) {
    const [k, v] = kv.split('=');
    placementOptions[k!] = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
  }
  return { name: name!, placementOptions };
}
