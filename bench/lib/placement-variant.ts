/** One named set of EPARA options a simulator bench runs EPARA with (`--variant name:option=value,…`). */
export interface PlacementVariant {
  readonly name: string;
  /** Core placement options, merged over the deployed ones. */
  readonly placementOptions: Record<string, unknown>;
  /** EPARA system options (`EparaSystemOptions`, the `epara.`-prefixed names), merged over the defaults. */
  readonly systemOptions: Record<string, unknown>;
}

/**
 * Parses a `--variant` argument, `name:option=value,…`: `true`/`false` become booleans, numbers numbers, anything
 * else stays a string (e.g. `shortage:shortage=estimate,minServedShare=1`). A name prefixed `epara.` sets an EPARA
 * system option instead of a placement option (e.g. `skip:epara.skipHopelessUploads=true`).
 */
export function parsePlacementVariant(spec: string): PlacementVariant {
  const [name, list] = spec.split(':');
  const placementOptions: Record<string, unknown> = {};
  const systemOptions: Record<string, unknown> = {};
  for (const kv of list!.split(',')) {
    const [k, v] = kv.split('=');
    const value = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
    if (k!.startsWith('epara.')) systemOptions[k!.slice('epara.'.length)] = value;
    else placementOptions[k!] = value;
  }
  return { name: name!, placementOptions, systemOptions };
}
