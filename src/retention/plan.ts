import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import type { Keep, RetentionPolicy } from '../config/retention.js';
import type { ManifestPartition } from '../catalog/retention-catalog.js';
import { zonedTimeToUtc } from '../core/zone.js';

/**
 * Retention plans are pure: from a series' manifest, its policy, its calendar and the clock to
 * the cut and what happens to each partition. Nothing here reads a file or the catalog.
 */

/** Where a policy cuts a series: rows before `before` go; `firstKept` is the first date kept. */
export interface Cut {
  readonly before: Date;
  /** The first session kept (a date of the calendar), or the first UTC date kept without one. */
  readonly firstKept: string;
}

export interface SeriesPlan {
  readonly policy: RetentionPolicy;
  readonly cut: Cut;
  /** Partitions whose every row is older than the cut: they leave the lake whole. */
  readonly retire: readonly ManifestPartition[];
  /** Partitions with rows on both sides of the cut: rewritten with the newer rows only. */
  readonly straddle: readonly ManifestPartition[];
  /** Symbols with rows before the cut: the audit expects none of their sessions before it. */
  readonly symbols: readonly string[];
}

/**
 * The instant a series' trading day `date` begins: for bars labelled by their session date
 * (daily and longer), the date at 00:00Z; for intraday bars, the date's midnight in the
 * calendar's zone (XNYS: after the last post-market bar of the day before), or the session's
 * open when it opens before (24/5 FX opens at the 17:00 New York roll of the evening before);
 * without a calendar, 00:00Z.
 */
export function dayStart(date: string, calendar: TradingCalendar | null, sessionLabelled: boolean): Date {
  const utc = new Date(`${date}T00:00:00Z`);
  if (sessionLabelled || !calendar) return utc;
  const midnight = zonedTimeToUtc(date, '00:00', calendar.zone);
  const [session] = calendar.sessions(date, date);
  const open = session ? calendar.extendedHours(session).open : midnight;
  return open < midnight ? open : midnight;
}

/**
 * Where `keep` cuts at `now`. days N: the last N UTC dates, today's included. sessions N: the
 * last N sessions that have ended by now. Null when the calendar has fewer sessions than that
 * (nothing is old enough to go). A sessions policy needs a calendar.
 */
export function cutFor(keep: Keep, now: Date, calendar: TradingCalendar | null, sessionLabelled: boolean): Cut | null {
  const today = now.toISOString().slice(0, 10);
  if ('days' in keep) {
    const firstKept = addDays(today, 1 - keep.days);
    return { before: dayStart(firstKept, calendar, sessionLabelled), firstKept };
  }
  if (!calendar) throw new Error('a sessions policy needs a calendar');
  // Enough calendar days to hold N sessions (5 a week, holidays aside); widened until it does.
  for (let span = Math.ceil(keep.sessions * 1.6) + 14; ; span *= 2) {
    const from = addDays(today, -span);
    const ended = calendar.sessions(from < calendar.checkedFrom ? calendar.checkedFrom : from, today).filter((s) => s.close <= now);
    if (ended.length >= keep.sessions) {
      const first = ended[ended.length - keep.sessions]!;
      return { before: dayStart(first.date, calendar, sessionLabelled), firstKept: first.date };
    }
    if (from <= calendar.checkedFrom) return null;
  }
}

/** What a policy does to one series' manifest at a cut. Partitions without rows are left alone. */
export function planSeries(policy: RetentionPolicy, cut: Cut, partitions: readonly ManifestPartition[]): SeriesPlan {
  const retire: ManifestPartition[] = [];
  const straddle: ManifestPartition[] = [];
  const symbols = new Set<string>();
  for (const p of partitions) {
    if (!p.firstTs || !p.lastTs || p.rows === 0 || p.firstTs >= cut.before) continue;
    if (p.lastTs < cut.before) retire.push(p);
    else straddle.push(p);
    for (const s of p.symbols) symbols.add(s);
  }
  return { policy, cut, retire, straddle, symbols: [...symbols].sort() };
}
