import { zonedTimeToUtc } from '../core/zone.js';

/**
 * Trading calendars: which dates are sessions, and when each opens and closes in UTC. Pure:
 * dates in, sessions out. Dates are 'YYYY-MM-DD' strings in the exchange's own zone.
 */
export type CalendarName = 'XNYS' | '24/7' | '24/5';

export interface Session {
  /** The session's date in the exchange's zone. */
  readonly date: string;
  readonly open: Date;
  readonly close: Date;
  /** Closed earlier than usual (for XNYS, 13:00 New York). */
  readonly early: boolean;
}

export interface Holiday {
  readonly date: string;
  readonly name: string;
}

export interface TradingCalendar {
  readonly name: CalendarName;
  readonly zone: string;
  readonly description: string;
  /** Sessions whose date lies in [from, to], in order. */
  sessions(from: string, to: string): Session[];
  /** Weekdays in [from, to] with no session, and why. */
  holidays(from: string, to: string): Holiday[];
  /**
   * The dates the calendar is known to be right for; outside them (unannounced closures,
   * rules that changed before) nothing is judged against it.
   */
  readonly checkedFrom: string;
  readonly checkedTo: string;
  /** A session's hours with the pre- and post-market (the same as regular where there is none). */
  extendedHours(session: Session): { readonly open: Date; readonly close: Date };
  /**
   * Hours before local midnight at which a session's trading day begins: 0 where a session
   * lies within its own date, 7 for 24/5 FX, whose session of a weekday opens at the 17:00
   * New York roll of the day before. An instant's trading day is the local date of the instant
   * shifted by this many hours.
   */
  readonly rollHours: number;
}

export const dayMs = 86_400_000;

/** Every date from `from` to `to` inclusive. */
export function* eachDate(from: string, to: string): Generator<string> {
  for (let t = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end; t += dayMs) {
    yield new Date(t).toISOString().slice(0, 10);
  }
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

export interface Hours {
  readonly open: Date;
  readonly close: Date;
}

/**
 * The one definition of which intraday bars belong to a session, used by the in_session rule
 * and by the audit's completeness alike: a bar [start, start + step) belongs to the session
 * whose hours it overlaps, so its start lies in (open - step, close). Vendors align bars to
 * the clock: the 09:00-10:00 hourly bar holds the 09:30 open. `reach` is the exclusive lower
 * bound, open - step.
 */
export function barReach(hours: Hours, stepMs: number): Date {
  return new Date(hours.open.getTime() - stepMs);
}

/**
 * The starts of the bars a complete session holds, in UTC: every start on the grid of
 * `stepMs` from `originMs` (the session date's local midnight) whose bar overlaps the hours.
 * A full XNYS day holds 7 hourly bars (09:00 to 15:00), a 13:00 early close 4, and 390
 * one-minute bars.
 */
export function sessionBarTimes(hours: Hours, stepMs: number, originMs: number): Date[] {
  const { first, count } = sessionBarGrid(hours, stepMs, originMs);
  return Array.from({ length: count }, (_, i) => new Date(first + i * stepMs));
}

/** Where a session's bar grid starts: its date's midnight in the calendar's zone (bars align to the exchange's clock). */
export function barGridOrigin(calendar: TradingCalendar, session: Session): number {
  return zonedTimeToUtc(session.date, '00:00', calendar.zone).getTime();
}

/** How many bars a complete session holds (sessionBarTimes without building them). */
export function sessionBarCount(hours: Hours, stepMs: number, originMs: number): number {
  return sessionBarGrid(hours, stepMs, originMs).count;
}

function sessionBarGrid(hours: Hours, stepMs: number, originMs: number): { first: number; count: number } {
  // Grid points k with open - step < origin + k * step < close.
  const lo = Math.floor((hours.open.getTime() - stepMs - originMs) / stepMs) + 1;
  const hi = Math.ceil((hours.close.getTime() - originMs) / stepMs) - 1;
  return { first: originMs + lo * stepMs, count: Math.max(0, hi - lo + 1) };
}

/**
 * How many sessions a series trails at `now`: the ended sessions (closed by `now`) after the
 * one its latest bar belongs to. A daily bar (`sessionLabelled`) names its session by its UTC
 * date; an intraday bar belongs to a session that opens before or at it.
 */
export function sessionsBehind(calendar: TradingCalendar, latest: Date, sessionLabelled: boolean, now: Date): number {
  const date = latest.toISOString().slice(0, 10);
  const after = (s: Session) => (sessionLabelled ? s.date > date : s.open.getTime() > latest.getTime());
  return calendar.sessions(addDays(date, -1), addDays(now.toISOString().slice(0, 10), 1)).filter((s) => after(s) && s.close.getTime() <= now.getTime()).length;
}
