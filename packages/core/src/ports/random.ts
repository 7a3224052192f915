/** Source of randomness. Core never calls `Math.random`; pass {@link createSeededRandom} for reproducible runs. */
export interface Random {
  /** A float uniformly in [0, 1). */
  next(): number;
}

/**
 * A fast, seeded generator (sfc32 seeded through splitmix32): the same seed gives the same sequence on every
 * platform.
 */
export function createSeededRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  // The state lives in a typed array, not in four variables the closure captures: a captured variable holding a
  // value above 2³⁰ (most of a uint32's range) is a new heap number at every write, four per draw.
  const st = new Uint32Array([split(), split(), split(), split()]);
  return {
    next() {
      const a = st[0]!;
      const b = st[1]!;
      const c = st[2]!;
      const d = st[3]!;
      const t = (((a + b) >>> 0) + d) >>> 0;
      st[3] = d + 1;
      st[0] = b ^ (b >>> 9);
      st[1] = c + (c << 3);
      const r = (c << 21) | (c >>> 11);
      st[2] = r + t;
      return t / 4294967296;
    },
  };
}
