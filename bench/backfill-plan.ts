import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { planChunks, sessionIndex, type Listing, type PlanInput } from '../src/backfill/plan.js';
import { calendars } from '../src/calendar/registry.js';
import { median } from './measure.js';

/**
 * The backfill planner at the scale issue 13 names: 5,000 symbols x 20 years of XNYS daily
 * sessions (about 25M symbol-sessions), most held with a few holes, some listed late or
 * delisted, some not held at all. In process: the planner is pure, so the figure is its own
 * time, not a process start. Run alone with `node dist/bench/backfill-plan.js` (prints JSON).
 */
export interface BackfillPlanFigure {
  readonly symbols: number;
  readonly sessions: number;
  readonly symbolSessions: number;
  readonly chunks: number;
  readonly plannedSessions: number;
  readonly runsMs: readonly number[];
  readonly ms: number;
  readonly heapMb: number;
}

export function benchBackfillPlan(symbolCount = 5000, from = '2006-01-01', until = '2025-12-31', runs = 3): BackfillPlanFigure {
  const sessions = sessionIndex(calendars.XNYS, from, until, 'year');
  const { dates } = sessions;
  const n = dates.length;
  let seed = 13;
  // A fixed LCG: the same lake every run.
  const random = () => (seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
  const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  const symbols: string[] = [];
  const present = new Map<string, string[]>();
  const listings = new Map<string, Listing>();
  let symbolSessions = 0;
  for (let s = 0; s < symbolCount; s++) {
    const symbol = `S${String(s).padStart(4, '0')}`;
    symbols.push(symbol);
    const kind = s % 100;
    let lo = 0;
    let hi = n;
    if (kind < 5) {
      lo = pick(1, n - 1);
      listings.set(symbol, { listed: dates[lo]! });
    } else if (kind < 8) {
      hi = pick(1, n - 1);
      listings.set(symbol, { delisted: dates[hi - 1]! });
    }
    symbolSessions += hi - lo;
    // Two percent never fetched: their whole history is missing.
    if (kind >= 98) continue;
    const holes = new Set<number>();
    for (let h = 0; h < 3; h++) holes.add(pick(lo, hi));
    const run = pick(lo, hi);
    for (let d = run; d < Math.min(hi, run + 10); d++) holes.add(d);
    const held: string[] = [];
    for (let i = lo; i < hi; i++) if (!holes.has(i)) held.push(dates[i]!);
    present.set(symbol, held);
  }
  const input: PlanInput = { sessions, symbols, present, listings, until };
  const target = { name: 'equities-daily', earliest: from, chunkSessions: 252 };
  const runsMs: number[] = [];
  let chunks = 0;
  let plannedSessions = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const planned = planChunks(target, input);
    runsMs.push(performance.now() - t);
    chunks = planned.length;
    plannedSessions = planned.reduce((sum, c) => sum + c.sessions, 0);
  }
  return { symbols: symbolCount, sessions: n, symbolSessions, chunks, plannedSessions, runsMs: runsMs.map(Math.round), ms: median(runsMs), heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(benchBackfillPlan(), null, 2)}\n`);
}
