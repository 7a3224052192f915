/**
 * The offered loads the searches probe, as multiples of the base mix: a geometric grid anchored at the base mix
 * (`2^(k / stepsPerDoubling)`), the same in every run. A search that stepped in fractions of the capacity
 * measured at start-up probed a different load in every run (the capacity moves by a few percent with the
 * profiles: ×17.52, ×18.16 and ×17.61 in three quiet runs, so "17.7%" was ×3.10, ×3.21 and ×3.11), and a
 * different load is a different workload — streams are whole (9 loop streams at ×3.11, 10 at ×3.21) — and a
 * differently placed baseline (its static placement follows the forecast, and which stream service shares the
 * image site turns on those counts). On the grid, two runs probe the same workloads and the same baseline
 * configurations; only the machine differs.
 */
export function gridLoad(load: number, stepsPerDoubling: number): number {
  return 2 ** (Math.round(Math.log2(load) * stepsPerDoubling) / stepsPerDoubling);
}

/** The lowest grid load at or above `load` (a floor stays a floor). */
export function gridLoadAtLeast(load: number, stepsPerDoubling: number): number {
  return 2 ** (Math.ceil(Math.log2(load) * stepsPerDoubling - 1e-9) / stepsPerDoubling);
}

/**
 * Grid points per doubling of a search that steps ×`factor` and then bisects its bracket `bisections` times
 * geometrically: its finest step is `factor^(1/2^bisections)` (×2 and two bisections, or ×√2 and one: four).
 */
export function stepsPerDoubling(factor: number, bisections: number): number {
  return Math.max(1, Math.round(2 ** bisections / Math.log2(factor)));
}
