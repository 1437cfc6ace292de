import { literal } from '../core/sql.js';
import type { TradingCalendar } from './calendar.js';

/**
 * How a vendor stamps a daily (or longer) bar: which session an instant names. Vendors differ
 * (Polygon stocks at 00:00 New York, Polygon crypto at 00:00 UTC, others at the close or at
 * the FX roll), so a transform declares it per vendor and market.
 * - `date_in`: the session is the stamp's date in this zone (00:00 New York of the session
 *   date, or the close, are both that date in New York).
 * - `within_session`: the stamp lies inside the session, at its open or after: the session is
 *   the job calendar's trading day the stamp falls in (for 24/5 FX, the session that the 17:00
 *   New York roll opens). A job without a calendar has UTC days.
 */
export type StampConvention = { readonly date_in: string; readonly within_session?: never } | { readonly within_session: true; readonly date_in?: never };

/**
 * The session date (a SQL DATE) a bar stamped at `instant` (a UTC TIMESTAMP expression) names:
 * the one function every source's daily bars go through. A date that is no session of the
 * calendar is for the in_session rule to quarantine, never to move. Pure.
 */
export function sessionDateSql(instant: string, convention: StampConvention, calendar: TradingCalendar | null): string {
  const { zone, shift } = stampZone(convention, calendar);
  // The session's time zone is UTC, so a TIMESTAMP casts to the same instant.
  const local = zone === 'UTC' ? instant : `timezone(${literal(zone)}, CAST(${instant} AS TIMESTAMPTZ))`;
  return `CAST(${shift ? `${local} + INTERVAL ${shift} HOUR` : local} AS DATE)`;
}

/** How a reason says which date a stamp names: "in America/New_York", "in XNYS trading days". */
export function stampReading(convention: StampConvention, calendar: TradingCalendar | null): string {
  const { zone, shift } = stampZone(convention, calendar);
  if (convention.date_in !== undefined) return `its date in ${zone}`;
  if (!calendar) return `its date in ${zone} (the job names no calendar)`;
  return shift ? `the ${calendar.name} session it falls in (days roll at ${24 - shift}:00 ${zone})` : `the ${calendar.name} session it falls in (its date in ${zone})`;
}

function stampZone(convention: StampConvention, calendar: TradingCalendar | null): { zone: string; shift: number } {
  if (convention.date_in !== undefined) return { zone: convention.date_in, shift: 0 };
  return calendar ? { zone: calendar.zone, shift: calendar.rollHours } : { zone: 'UTC', shift: 0 };
}
