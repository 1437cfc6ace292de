import type { Job } from '../config/jobs.js';
import { barGridOrigin, sessionBarTimes, type Session } from '../calendar/calendar.js';
import { intradayMs, isSessionLabelled } from '../core/granularity.js';
import { parseWindow, type TimeWindow } from '../core/time-window.js';
import type { Fetcher, VendorRequest } from '../sources/fetcher.js';
import type { PlannedChunk } from './types.js';

/**
 * The backfill router: for a chunk, the vendors to try in order. Pure: what each vendor's
 * fetcher declares and the run's state (budgets left, vendors frozen) come in; an order goes out.
 */

/** A vendor a target allows, with what its fetcher for the target's dataset declares (config/backfill.ts BackfillVendor fits). */
export interface RouteCandidate {
  readonly vendor: string;
  readonly fetcher: Pick<Fetcher, 'unique' | 'weight' | 'historyYears'>;
}

export interface RouteState {
  /** Requests each vendor may still send today; null or no entry: unknown or unlimited. */
  readonly remaining: ReadonlyMap<string, number | null>;
  /** Vendors that failed the last N chunks of this run: not tried again in it. */
  readonly frozen: ReadonlySet<string>;
  /** Today's UTC date: a vendor whose history does not reach back to the chunk's first session cannot fill it. */
  readonly today: string;
  /** Requests the chunk costs each vendor (chunkRequests(...).length); 1 where not given. */
  readonly requests?: ReadonlyMap<string, number>;
}

export type SkipReason = 'frozen' | 'history' | 'spent';

export interface Route {
  /** The vendors to try, best first. */
  readonly order: readonly string[];
  /** The vendors left out, in the target's order, and why. */
  readonly skipped: readonly { readonly vendor: string; readonly reason: SkipReason }[];
}

/**
 * The order in which to try a chunk's vendors: a vendor whose fetcher is unique for the dataset
 * first, then by weight (higher first), then by requests left today (more first; unknown counts
 * as unlimited), ties in the target's order. A vendor frozen for the run, whose history does not
 * reach the chunk's first session, or whose budget left is less than the chunk costs it, is skipped.
 */
export function routeChunk(chunk: Pick<PlannedChunk, 'from'>, candidates: readonly RouteCandidate[], state: RouteState): Route {
  const skipped: { vendor: string; reason: SkipReason }[] = [];
  const usable: { vendor: string; unique: boolean; weight: number; headroom: number; index: number }[] = [];
  for (const [index, { vendor, fetcher }] of candidates.entries()) {
    const left = state.remaining.get(vendor) ?? null;
    const reason = skipReason(vendor, fetcher, left, chunk.from, state);
    if (reason) skipped.push({ vendor, reason });
    else usable.push({ vendor, unique: fetcher.unique, weight: fetcher.weight, headroom: left ?? Infinity, index });
  }
  usable.sort((a, b) => Number(b.unique) - Number(a.unique) || b.weight - a.weight || compareHeadroom(a.headroom, b.headroom) || a.index - b.index);
  return { order: usable.map((u) => u.vendor), skipped };
}

function skipReason(vendor: string, fetcher: RouteCandidate['fetcher'], left: number | null, from: string, state: RouteState): SkipReason | null {
  if (state.frozen.has(vendor)) return 'frozen';
  if (!reaches(fetcher.historyYears, state.today, from)) return 'history';
  if (left !== null && left < (state.requests?.get(vendor) ?? 1)) return 'spent';
  return null;
}

/** More headroom first; Infinity - Infinity would be NaN. */
function compareHeadroom(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}

/** Whether a vendor serving `years` of history back from today serves `from`. */
function reaches(years: number | null, today: string, from: string): boolean {
  if (years === null) return true;
  const first = `${String(Number(today.slice(0, 4)) - years).padStart(4, '0')}${today.slice(4)}`;
  return from >= first;
}

/**
 * The time a chunk's bars lie in, for a vendor's job: its session dates as whole UTC days (as
 * `mdw ingest --from --to` asks), widened for intraday bars to the first session's first bar
 * and the last session's close, so that a session that opens the evening before its
 * date (24/5 forex opens at 17:00 New York) is asked for whole. Pure.
 */
export function chunkWindow(job: Job, chunk: Pick<PlannedChunk, 'from' | 'to'>): TimeWindow {
  const days = parseWindow(chunk.from, chunk.to);
  if (isSessionLabelled(job.granularity) || !job.calendar) return days;
  const sessions = job.calendar.sessions(chunk.from, chunk.to);
  if (sessions.length === 0) return days;
  const hours = (s: Session) => (job.spec.extended_hours ? job.calendar!.extendedHours(s) : s);
  const step = intradayMs(job.granularity)!;
  const first = sessionBarTimes(hours(sessions[0]!), step, barGridOrigin(job.calendar, sessions[0]!))[0]?.getTime() ?? days.from!.getTime();
  const last = hours(sessions.at(-1)!).close.getTime();
  return { from: new Date(Math.min(days.from!.getTime(), first)), toExclusive: new Date(Math.max(days.toExclusive!.getTime(), last)) };
}

/**
 * The requests a vendor sends for a chunk: its fetcher's plan for the vendor's job, narrowed to
 * the chunk's symbol and window (chunkWindow). Pure, as every fetcher's plan is. Its length is
 * what the chunk costs that vendor's budget.
 */
export function chunkRequests(fetcher: Pick<Fetcher, 'plan'>, job: Job, chunk: Pick<PlannedChunk, 'symbol' | 'from' | 'to'>, now: Date): VendorRequest[] {
  const window = chunkWindow(job, chunk);
  return fetcher.plan({ job, from: window.from, toExclusive: window.toExclusive, symbols: [chunk.symbol], columns: {} }, now);
}
