import { calendars } from '../../calendar/registry.js';
import type { CalendarName, TradingCalendar } from '../../calendar/calendar.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { stdoutIsTty, type GlobalOptions } from '../run-command.js';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/** The calendar and the date range a calendar command was given, checked. Needs no warehouse. */
function resolveRange(name: string, opts: GlobalOptions): { calendar: TradingCalendar; from: string; to: string } {
  const calendar = calendars[name.toUpperCase() as CalendarName] ?? calendars[name as CalendarName];
  if (!calendar) throw new UsageError(`no calendar "${name}": choose one of ${Object.keys(calendars).join(', ')}`);
  const year = new Date().getUTCFullYear();
  const from = (opts.from as string | undefined) ?? `${year}-01-01`;
  const to = (opts.to as string | undefined) ?? `${year}-12-31`;
  for (const [flag, v] of [['--from', from], ['--to', to]] as const) {
    if (!isDate(v)) throw new UsageError(`${flag} ${v} is not a date (YYYY-MM-DD)`);
  }
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return { calendar, from, to };
}

/** `mdw calendar sessions XNYS --from --to`: date, open_utc, close_utc (and early). */
export async function calendarSessionsCommand(opts: GlobalOptions, name: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const { calendar, from, to } = resolveRange(name, opts);
  const rows: Record<string, Cell>[] = calendar.sessions(from, to).map((s) => ({ date: s.date, open_utc: iso(s.open), close_utc: iso(s.close), early_close: s.early }));
  process.stdout.write(formatRecords(rows, ['date', 'open_utc', 'close_utc', 'early_close'], format));
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
