import { calendarNamed, calendars } from '../../calendar/registry.js';
import { barGridOrigin, sessionBarTimes, type TradingCalendar } from '../../calendar/calendar.js';
import { intradayMs, parseGranularity } from '../../core/granularity.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { stdoutIsTty, type GlobalOptions } from '../run-command.js';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/** The calendar and the date range a calendar command was given, checked. Needs no warehouse. */
function resolveRange(name: string, opts: GlobalOptions): { calendar: TradingCalendar; from: string; to: string } {
  const calendar = calendarNamed(name);
  const year = new Date().getUTCFullYear();
  const from = (opts.from as string | undefined) ?? `${year}-01-01`;
  const to = (opts.to as string | undefined) ?? `${year}-12-31`;
  for (const [flag, v] of [['--from', from], ['--to', to]] as const) {
    if (!isDate(v)) throw new UsageError(`${flag} ${v} is not a date (YYYY-MM-DD)`);
  }
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { calendar, from, to };
}

/**
 * `mdw calendar sessions XNYS --from --to`: date, open_utc, close_utc, early_close; with
 * --granularity, the bars a complete session holds (first, last, count), with --extended in
 * the pre- and post-market hours too.
 */
export async function calendarSessionsCommand(opts: GlobalOptions, name: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const { calendar, from, to } = resolveRange(name, opts);
  const g = opts.granularity === undefined ? null : parseGranularity(String(opts.granularity));
  if (g && !['s', 'm', 'h'].includes(g.unit)) throw new UsageError(`--granularity ${g.text}: expected bars are for intraday bars (s, m, h); a daily bar is one per session`);
  const step = g ? (intradayMs(g) ?? 0) : 0;
  const rows: Record<string, Cell>[] = calendar.sessions(from, to).map((s) => {
    const hours = opts.extended ? calendar.extendedHours(s) : s;
    const row: Record<string, Cell> = { date: s.date, open_utc: iso(hours.open), close_utc: iso(hours.close), early_close: s.early };
    if (g) {
      const bars = sessionBarTimes(hours, step, barGridOrigin(calendar, s));
      Object.assign(row, { bars: bars.length, first_bar: bars[0] ? iso(bars[0]) : null, last_bar: bars.at(-1) ? iso(bars.at(-1)!) : null });
    }
    return row;
  });
  const columns = ['date', 'open_utc', 'close_utc', 'early_close', ...(g ? ['bars', 'first_bar', 'last_bar'] : [])];
  process.stdout.write(formatRecords(rows, columns, format));
  return ExitCode.ok;
}

/** `mdw calendar holidays XNYS --from --to`: the weekdays with no session, and why. */
export async function calendarHolidaysCommand(opts: GlobalOptions, name: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const { calendar, from, to } = resolveRange(name, opts);
  const rows: Record<string, Cell>[] = calendar.holidays(from, to).map((h) => ({ date: h.date, name: h.name }));
  process.stdout.write(formatRecords(rows, ['date', 'name'], format));
  return ExitCode.ok;
}

/** `mdw calendar list`. */
export async function calendarListCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const rows = Object.values(calendars).map((c) => ({ calendar: c.name, zone: c.zone, description: c.description }));
  process.stdout.write(formatRecords(rows, ['calendar', 'zone', 'description'], format));
  return ExitCode.ok;
}
