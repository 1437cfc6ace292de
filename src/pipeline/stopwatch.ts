import { performance } from 'node:perf_hooks';

/** A lap timer: each call names the time since the previous one; `all()` lists them. */
export type Stopwatch = ((name: string) => void) & { all(): Record<string, number> };

/** Named laps of wall time, for the debug log. */
export function stopwatch(): Stopwatch {
  let last = performance.now();
  const laps: Record<string, number> = {};
  const lap = (name: string) => {
    const now = performance.now();
    laps[name] = Math.round(now - last);
    last = now;
  };
  return Object.assign(lap, { all: () => ({ ...laps }) });
}
