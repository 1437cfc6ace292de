import { addDays, barGridOrigin, barReach, sessionBarCount, type TradingCalendar } from '../calendar/calendar.js';
import { intradayMs, type Granularity } from '../core/granularity.js';
import { literal, timestampLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { stateIs, stateSql, type RowState } from '../core/row-state.js';

/** What bars are checked against: a calendar's sessions, in the hours a job keeps. */
export interface SessionCheck {
  readonly calendar: TradingCalendar;
  readonly granularity: Granularity;
  /** Intraday bars in the pre- and post-market are in session too. */
  readonly extended: boolean;
}

export const sessionTable = 'mdw_sessions';

/** One bar's length in milliseconds; 0 for daily and longer bars, which a session holds one of. */
function barMs(g: Granularity): number {
  return intradayMs(g) ?? 0;
}

/**
 * Loads the calendar's sessions for [from, to] into `mdw_sessions`, clipped to the dates the
 * calendar is known to be right for: date, n (the session's number in order), early, and as
 * UTC TIMESTAMPs the hours the job keeps (open, close), `reach` (a bar starting after it and
 * before the close overlaps those hours: barReach, the rule in_session and completeness share),
 * `expected` (the bars a complete session holds: 1 for daily bars), and the widest hours of the
 * calendar, pre- and post-market included (`x_reach`, `x_close`). `dayShift`: hours that,
 * added to the start of any bar a session's widest hours hold, give the session's date, so
 * bars find their session by a hash join on that date instead of an ASOF join (which sorts
 * every bar); null when no shift fits every session.
 */
export async function loadSessions(duck: DuckSession, check: SessionCheck, from: string, to: string): Promise<{ count: number; dayShift: number | null }> {
  const { calendar } = check;
  const start = from < calendar.checkedFrom ? calendar.checkedFrom : from;
  const end = to > calendar.checkedTo ? calendar.checkedTo : to;
  await duck.run(
    `CREATE OR REPLACE TABLE ${sessionTable} (date DATE, n INTEGER, early BOOLEAN, open TIMESTAMP, close TIMESTAMP, reach TIMESTAMP, expected BIGINT, x_reach TIMESTAMP, x_close TIMESTAMP)`,
  );
  if (start > end) return { count: 0, dayShift: 0 };
  const sessions = calendar.sessions(start, end);
  const step = barMs(check.granularity);
  const rows = sessions.map((s) => {
    const hours = check.extended ? calendar.extendedHours(s) : s;
    const widest = calendar.extendedHours(s);
    return {
      s,
      hours,
      reach: barReach(hours, step),
      expected: step === 0 ? 1 : sessionBarCount(hours, step, barGridOrigin(calendar, s)),
      xReach: barReach(widest, step),
      xClose: widest.close,
    };
  });
  const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const fits = (shiftMs: number) =>
    rows.every((r, i) => {
      const widest = calendar.extendedHours(r.s);
      // A bar that starts the day before and overlaps the open is still found by its own day's
      // session when sessions follow each other without a break (24/7).
      const reachable = dateOf(r.xReach.getTime() + 1 + shiftMs) === r.s.date || rows[i - 1]?.xClose.getTime() === widest.open.getTime();
      return reachable && dateOf(widest.open.getTime() + shiftMs) === r.s.date && dateOf(r.xClose.getTime() - 1 + shiftMs) === r.s.date;
    });
  // The fewest hours that shift every session into its own date (New York's post-market ends
  // after midnight UTC in winter: 2 hours back), or null when none does.
  const dayShift = [0, ...Array.from({ length: 12 }, (_, i) => [-(i + 1), i + 1]).flat()].find((h) => fits(h * 3_600_000)) ?? null;
  for (let i = 0; i < rows.length; i += 2000) {
    const values = rows.slice(i, i + 2000).map(
      (r, j) =>
        `(DATE ${literal(r.s.date)}, ${i + j}, ${r.s.early}, ${timestampLiteral(r.hours.open)}, ${timestampLiteral(r.hours.close)}, ` +
        `${timestampLiteral(r.reach)}, ${r.expected}, ${timestampLiteral(r.xReach)}, ${timestampLiteral(r.xClose)})`,
    );
    await duck.run(`INSERT INTO ${sessionTable} VALUES ${values.join(', ')}`);
  }
  return { count: sessions.length, dayShift };
}

/**
 * SQL that finds each bar's session in `mdw_sessions` (alias s) for a bar table alias `b`:
 * daily bars by their session date, intraday bars by the session whose widest hours they
 * overlap. Left join: a bar with no session gets NULLs.
 */
export function sessionJoin(b: string, daily: boolean, dayShift: number | null): string {
  if (daily || dayShift === 0) return `LEFT JOIN ${sessionTable} s ON s.date = CAST(${b}.ts AS DATE)`;
  if (dayShift !== null) return `LEFT JOIN ${sessionTable} s ON s.date = CAST(${b}.ts + INTERVAL '${dayShift} hours' AS DATE)`;
  return `ASOF LEFT JOIN ${sessionTable} s ON ${b}.ts > s.x_reach`;
}

/** A bar (alias b) that overlaps its session's hours as the job keeps them. */
export const inHoursSql = (b: string) => `(${b}.ts > s.reach AND ${b}.ts < s.close)`;

/**
 * The in_session record rule, run on a table of checked rows after the row rules. A daily bar
 * must fall on a session date: a bar whose stamp names another date is quarantined with the
 * stamp and the date it names, never moved. An intraday bar must overlap a session's hours
 * (barReach); one that overlaps only the pre- or post-market of a job that keeps regular
 * hours is outside the job's scope ('filtered'), one that overlaps no session at all is
 * quarantined. Weekly and monthly bars, and dates outside the calendar's checked range, are
 * not judged. Returns the rows it failed and the rows it left out.
 */
export async function applySessionRule(duck: DuckSession, table: string, check: SessionCheck): Promise<{ failed: number; outsideHours: number }> {
  const { calendar, granularity: g } = check;
  if (g.unit === 'w' || g.unit === 'mo') return { failed: 0, outsideHours: 0 };
  // Around-the-clock calendars are checked to 9999-12-31: the day after is not a timestamp.
  const judged = (alias: string) =>
    [
      `${alias}ts >= ${timestampLiteral(new Date(`${calendar.checkedFrom}T00:00:00Z`))}`,
      ...(calendar.checkedTo < '9999-12-31' ? [`${alias}ts < ${timestampLiteral(new Date(`${addDays(calendar.checkedTo, 1)}T00:00:00Z`))}`] : []),
    ].join(' AND ');
  // Only the dates the calendar judges decide which sessions to load: one row dated far
  // outside them must not make the others be judged against the wrong sessions.
  const [range] = await duck.all<{ lo: string | null; hi: string | null }>(
    `SELECT strftime(min(ts), '%Y-%m-%d') AS lo, strftime(max(ts), '%Y-%m-%d') AS hi FROM ${table} WHERE ${stateIs('ok')} AND ${judged('')}`,
  );
  if (!range?.lo || !range.hi) return { failed: 0, outsideHours: 0 };
  // A day each side: an FX session opens on the evening before its date.
  const { dayShift } = await loadSessions(duck, check, addDays(range.lo, -1), addDays(range.hi, 1));
  const byDate = dayShift !== null;
  const daily = g.unit === 'd';
  const name = literal(calendar.name);
  const verdict = daily
    ? `SELECT c.rowid AS row, ${stateSql('bad')} AS state, 'in_session: ' || strftime(c.ts, '%Y-%m-%d') || ' is not a ' || ${name} || ' session' || ` +
      `coalesce(' (the bar is stamped ' || strftime(c._stamp, '%Y-%m-%dT%H:%M:%SZ') || ', read as ' || c._stamp_as || ')', '') AS detail ` +
      `FROM ${table} c ${sessionJoin('c', true, 0)} WHERE ${stateIs('ok', 'c')} AND ${judged('c.')} AND s.date IS NULL`
    : `SELECT c.rowid AS row, CASE WHEN c.ts > s.x_reach AND c.ts < s.x_close THEN ${stateSql('filtered')} ELSE ${stateSql('bad')} END AS state, ` +
      `'in_session: ' || strftime(c.ts, '%Y-%m-%dT%H:%M:%SZ') || ' (a ${g.text} bar) overlaps no ' || ${name} || ' session' || ` +
      (check.extended ? '' : `CASE WHEN s.x_reach <> s.reach OR s.x_close <> s.close THEN ', pre- and post-market included' ELSE '' END || `) +
      (byDate
        ? `coalesce('; that day''s: ' || strftime(s.open, '%H:%M') || '-' || strftime(s.close, '%H:%M') || 'Z', '; no session that day') AS detail `
        : `coalesce('; the one before it: ' || strftime(s.date, '%Y-%m-%d') || ' ' || strftime(s.open, '%H:%M') || '-' || strftime(s.close, '%H:%M') || 'Z', '') AS detail `) +
      `FROM ${table} c ${sessionJoin('c', false, dayShift)} WHERE ${stateIs('ok', 'c')} AND ${judged('c.')} AND (s.date IS NULL OR NOT ${inHoursSql('c')})`;
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_outside AS ${verdict}`);
  const counts = await duck.all<{ state: RowState; n: number }>(`SELECT state, count(*) AS n FROM mdw_outside GROUP BY ALL`);
  const n = (state: RowState) => Number(counts.find((c) => c.state === state)?.n ?? 0);
  if (counts.length > 0) {
    await duck.run(
      `UPDATE ${table} SET _state = o.state, _rules = CASE WHEN o.state = ${stateSql('bad')} THEN 'in_session' END, ` +
        `_detail = CASE WHEN o.state = ${stateSql('bad')} THEN o.detail END FROM mdw_outside o WHERE ${table}.rowid = o.row`,
    );
  }
  await duck.run('DROP TABLE IF EXISTS mdw_outside');
  return { failed: n('bad'), outsideHours: n('filtered') };
}
