import { addDays, barGridOrigin, sessionBarCount, type TradingCalendar } from '../calendar/calendar.js';
import type { PartitionPeriod } from '../config/types.js';
import { intradayMs, isSessionLabelled, type Granularity } from '../core/granularity.js';
import type { BackfillTarget, PlannedChunk } from './types.js';

/**
 * The backfill planner: which windows of which symbols' sessions the lake lacks, as chunks a
 * vendor request each can fill. Pure: the calendar's sessions, what the lake holds and the
 * last ended session come in; chunks go out.
 */

/** A calendar's sessions over a span, computed once and shared by every symbol of a plan. */
export interface SessionIndex {
  /** Session dates, ascending. */
  readonly dates: readonly string[];
  /** For each session, the index of the first session of the next partition period (dates.length for the last period). */
  readonly periodEnd: Int32Array;
}

/** Per symbol, the session dates the lake holds complete: ascending and distinct as an array, or a set. */
export type PresentSessions = readonly string[] | ReadonlySet<string>;

/** A symbol's listing and delisting dates, where the tickers dataset knows them. */
export interface Listing {
  /** No session before it is planned. */
  readonly listed?: string | null;
  /** No session after it is planned (it is the last session the symbol may have traded). */
  readonly delisted?: string | null;
}

export interface PlanInput {
  /** The sessions of the target's calendar from the target's earliest date to `until` at least (sessionIndex). */
  readonly sessions: SessionIndex;
  readonly symbols: readonly string[];
  /**
   * What the lake holds complete per symbol (GREEN in the ledger; for daily bars, a bar); a
   * symbol without an entry holds nothing. Sessions not to ask for again yet (vendor_empty
   * within its back-off, accepted holes) belong here too.
   */
  readonly present: ReadonlyMap<string, PresentSessions>;
  readonly listings?: ReadonlyMap<string, Listing>;
  /** The last ended session: nothing after it is planned. */
  readonly until: string;
  /** Sessions one request can answer (sessionsPerRequest over the target's vendors); default unbounded. */
  readonly sessionsPerRequest?: number;
}

const periodLength: Record<PartitionPeriod, number> = { year: 4, month: 7, day: 10 };

/** The sessions of [from, to] with their partition periods (by date: year, month or day). */
export function sessionIndex(calendar: TradingCalendar, from: string, to: string, period: PartitionPeriod): SessionIndex {
  return indexDates(
    calendar.sessions(from, to).map((s) => s.date),
    period,
  );
}

/** The same from session dates already listed (ascending). */
export function indexDates(dates: readonly string[], period: PartitionPeriod): SessionIndex {
  const n = periodLength[period];
  const periodEnd = new Int32Array(dates.length);
  let end = dates.length;
  for (let i = dates.length - 1; i >= 0; i--) {
    periodEnd[i] = end;
    if (i > 0 && dates[i - 1]!.slice(0, n) !== dates[i]!.slice(0, n)) end = i;
  }
  return { dates, periodEnd };
}

/**
 * The missing windows of a target's symbols, in symbol order then date order. For each symbol
 * the sessions from the later of the target's earliest date and its listing to the earlier of
 * `until` and its delisting are walked; a chunk starts at a session the lake lacks and covers
 * at most min(chunkSessions, sessionsPerRequest) sessions of one partition period, ending at
 * the last session in that reach the lake lacks. Sessions the lake holds between two holes in
 * reach ride along (one request instead of two; the rewrite of a partition dedupes them); a
 * window the lake holds complete is never planned.
 */
export function planChunks(target: Pick<BackfillTarget, 'name' | 'earliest' | 'chunkSessions'>, input: PlanInput): PlannedChunk[] {
  const { dates, periodEnd } = input.sessions;
  const limit = Math.max(1, Math.min(target.chunkSessions, input.sessionsPerRequest ?? Infinity));
  // One mask reused for every symbol: 1 where the lake holds the session.
  const held = new Uint8Array(dates.length);
  const chunks: PlannedChunk[] = [];
  for (const symbol of input.symbols) {
    const listing = input.listings?.get(symbol);
    const from = later(target.earliest, listing?.listed);
    const to = earlier(input.until, listing?.delisted);
    if (from > to) continue;
    const lo = bound(dates, from, 0, false);
    const hi = bound(dates, to, lo, true);
    if (lo >= hi) continue;
    markHeld(held, dates, lo, hi, input.present.get(symbol));
    let i = lo;
    while (i < hi) {
      if (held[i] === 1) {
        i++;
        continue;
      }
      const start = i;
      const reach = Math.min(hi, periodEnd[start]!, start + limit);
      let last = start;
      let missing = 0;
      for (; i < reach; i++) {
        if (held[i] === 0) {
          last = i;
          missing++;
        }
      }
      chunks.push({ target: target.name, symbol, from: dates[start]!, to: dates[last]!, sessions: missing });
    }
  }
  return chunks;
}

function markHeld(held: Uint8Array, dates: readonly string[], lo: number, hi: number, present: PresentSessions | undefined): void {
  held.fill(0, lo, hi);
  if (present === undefined) return;
  if (isSet(present)) {
    for (let i = lo; i < hi; i++) if (present.has(dates[i]!)) held[i] = 1;
    return;
  }
  // Both ascending: one merge walk. Dates that are no session (a bar on a holiday) are passed over.
  let j = bound(present, dates[lo]!, 0, false);
  for (let i = lo; i < hi && j < present.length; i++) {
    const d = dates[i]!;
    while (j < present.length && present[j]! < d) j++;
    if (present[j] === d) held[i] = 1;
  }
}

function isSet(p: PresentSessions): p is ReadonlySet<string> {
  return !Array.isArray(p);
}

/** The first index at or after `from` whose value is >= key (> key when `after`), or the length when none is. */
function bound(sorted: readonly string[], key: string, from: number, after: boolean): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key || (after && sorted[mid] === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function later(a: string, b: string | null | undefined): string {
  return b && b > a ? b : a;
}

function earlier(a: string, b: string | null | undefined): string {
  return b && b < a ? b : a;
}

/** The last session that has closed by `now` (the planner's `until`), or null when none has in the ten days before. */
export function lastEndedSession(calendar: TradingCalendar, now: Date): string | null {
  const today = now.toISOString().slice(0, 10);
  const ended = calendar.sessions(addDays(today, -10), addDays(today, 1)).filter((s) => s.close.getTime() <= now.getTime());
  return ended.at(-1)?.date ?? null;
}

/** Sessions one request can answer: a page of `pageSize` bars over sessions of `barsPerSession` bars (at least one). */
export function sessionsPerRequest(pageSizes: readonly number[], barsPerSession: number): number {
  const page = Math.min(...pageSizes);
  return Math.max(1, Math.floor(page / Math.max(1, barsPerSession)));
}

/**
 * Bars the longest session holds at a bar size: one for daily and longer bars; for intraday
 * bars, the most any session of an ordinary week (March 2024: no holiday, no early close)
 * holds, with the pre- and post-market when `extended`.
 */
export function barsPerSession(calendar: TradingCalendar, g: Granularity, extended: boolean): number {
  if (isSessionLabelled(g)) return 1;
  const step = intradayMs(g)!;
  let most = 1;
  for (const s of calendar.sessions('2024-03-04', '2024-03-08')) {
    const hours = extended ? calendar.extendedHours(s) : s;
    most = Math.max(most, sessionBarCount(hours, step, barGridOrigin(calendar, s)));
  }
  return most;
}
