/**
 * The reliability suite runs a sample in `make test` and everything in `make reliability`
 * (MDW_RELIABILITY=full): the same tests, with fewer kill points and fuzz cases in the sample,
 * so that make test stays within its time on a loaded machine.
 */
export const fullReliability = process.env.MDW_RELIABILITY === 'full';

/** How many cases to run: `sample` in make test, `full` in make reliability. */
export function cases(sample: number, full: number): number {
  return fullReliability ? full : sample;
}

/** A deterministic pseudo-random sequence (mulberry32), so a failing case can be run again. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
