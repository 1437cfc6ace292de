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

/**
 * The start of every bar of `stepMs` a session's hours hold, in UTC: the bars a complete
 * session has (a bar that would run past the close is not one).
 */
export function sessionBarTimes(hours: { readonly open: Date; readonly close: Date }, stepMs: number): Date[] {
  const out: Date[] = [];
  for (let t = hours.open.getTime(); t + stepMs <= hours.close.getTime(); t += stepMs) out.push(new Date(t));
  return out;
}
