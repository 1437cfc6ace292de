import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import type { Granularity } from '../core/granularity.js';
import { literal, timestampLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';

/** What the in_session rule checks bars against. */
export interface SessionCheck {
  readonly calendar: TradingCalendar;
  readonly granularity: Granularity;
  /** Intraday bars in the pre- and post-market are in session too. */
  readonly extended: boolean;
}

export const sessionTable = 'mdw_sessions';

/**
 * Loads the calendar's sessions for [from, to] into `mdw_sessions` (date, open, close as UTC
 * TIMESTAMPs, regular or extended hours, and n, the session's number in order), clipped to the
 * dates the calendar is known to be right for. Returns how many sessions it loaded.
 */
export async function loadSessions(
  duck: DuckSession,
  calendar: TradingCalendar,
  from: string,
  to: string,
  extended: boolean,
): Promise<{ count: number; utcDated: boolean }> {
  const start = from < calendar.checkedFrom ? calendar.checkedFrom : from;
  const end = to > calendar.checkedTo ? calendar.checkedTo : to;
  await duck.run(`CREATE OR REPLACE TABLE ${sessionTable} (date DATE, open TIMESTAMP, close TIMESTAMP, n INTEGER, early BOOLEAN)`);
  if (start > end) return { count: 0, utcDated: true };
  const sessions = calendar.sessions(start, end);
  const hoursOf = (s: (typeof sessions)[number]) => (extended ? calendar.extendedHours(s) : s);
  // Sessions that open and close on their own UTC date can be found by a join on the date.
  const utcDated = sessions.every((s) => {
    const h = hoursOf(s);
    return h.open.toISOString().slice(0, 10) === s.date && new Date(h.close.getTime() - 1).toISOString().slice(0, 10) === s.date;
  });
  for (let i = 0; i < sessions.length; i += 2000) {
    const values = sessions.slice(i, i + 2000).map((s, j) => {
      const h = hoursOf(s);
      return `(DATE ${literal(s.date)}, ${timestampLiteral(h.open)}, ${timestampLiteral(h.close)}, ${i + j}, ${s.early})`;
    });
    await duck.run(`INSERT INTO ${sessionTable} VALUES ${values.join(', ')}`);
  }
  return { count: sessions.length, utcDated };
}

/**
 * The in_session record rule, run on a table of checked rows after the row rules: a daily bar
 * must fall on a session date, an intraday bar must start inside a session's hours. Rows it
 * fails become 'bad' with rule in_session. Weekly and monthly bars, and dates outside the
 * calendar's checked range, are not judged. Returns the number of rows it failed.
 */
export async function applySessionRule(duck: DuckSession, table: string, check: SessionCheck): Promise<number> {
  const { calendar, granularity: g } = check;
  if (g.unit === 'w' || g.unit === 'mo') return 0;
  const [range] = await duck.all<{ lo: string | null; hi: string | null }>(
    `SELECT strftime(min(ts), '%Y-%m-%d') AS lo, strftime(max(ts), '%Y-%m-%d') AS hi FROM ${table} WHERE _state = 'ok'`,
  );
  if (!range?.lo || !range.hi) return 0;
  // A day each side: an FX session opens on the evening before its date.
  const { utcDated } = await loadSessions(duck, calendar, addDays(range.lo, -1), addDays(range.hi, 1), check.extended);
  // Around-the-clock calendars are checked to 9999-12-31: the day after is not a timestamp.
  const judged = [
    `ts >= ${timestampLiteral(new Date(`${calendar.checkedFrom}T00:00:00Z`))}`,
    ...(calendar.checkedTo < '9999-12-31' ? [`ts < ${timestampLiteral(new Date(`${addDays(calendar.checkedTo, 1)}T00:00:00Z`))}`] : []),
  ].join(' AND ');
  const hours = check.extended ? 'extended' : 'regular';
  const outside =
    g.unit === 'd'
      ? `SELECT c.rowid AS row, 'in_session: ' || strftime(c.ts, '%Y-%m-%d') || ' is not a ${calendar.name} session' AS detail ` +
        `FROM ${table} c ANTI JOIN ${sessionTable} s ON s.date = CAST(c.ts AS DATE) WHERE c._state = 'ok' AND ${judged}`
      : `SELECT c.rowid AS row, 'in_session: ' || strftime(c.ts, '%Y-%m-%dT%H:%M:%SZ') || ' is outside every ${calendar.name} session (${hours} hours)' || ` +
        (utcDated
          ? // A hash join on the date where sessions keep to their UTC date (an ASOF join sorts every bar).
            `coalesce('; that day''s: ' || strftime(s.open, '%H:%M') || '-' || strftime(s.close, '%H:%M') || 'Z', '; no session that day') AS detail ` +
            `FROM ${table} c LEFT JOIN ${sessionTable} s ON s.date = CAST(c.ts AS DATE) WHERE c._state = 'ok' AND ${judged} AND (s.open IS NULL OR c.ts < s.open OR c.ts >= s.close)`
          : `coalesce('; the one before it: ' || strftime(s.date, '%Y-%m-%d') || ' ' || strftime(s.open, '%H:%M') || '-' || strftime(s.close, '%H:%M') || 'Z', '') AS detail ` +
            `FROM ${table} c ASOF LEFT JOIN ${sessionTable} s ON c.ts >= s.open WHERE c._state = 'ok' AND ${judged} AND (s.open IS NULL OR c.ts >= s.close)`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_outside AS ${outside}`);
  const [{ n }] = (await duck.all<{ n: number }>(`SELECT count(*) AS n FROM mdw_outside`)) as [{ n: number }];
  if (n > 0) {
    await duck.run(
      `UPDATE ${table} SET _state = 'bad', _rules = 'in_session', _detail = o.detail FROM mdw_outside o WHERE ${table}.rowid = o.row`,
    );
  }
  await duck.run('DROP TABLE IF EXISTS mdw_outside');
  return n;
}
