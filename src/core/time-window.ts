import { UsageError } from './errors.js';

/** A half-open UTC interval [from, toExclusive); either end may be open. */
export interface TimeWindow {
  readonly from: Date | null;
  readonly toExclusive: Date | null;
}

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;
const dateTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses --from/--to. Dates are whole UTC days and both ends are inclusive, so
 * `--from 2024-01-01 --to 2024-01-31` is all of January. A date-time must carry its offset.
 */
export function parseWindow(from: string | undefined, to: string | undefined, flag = '--', names = { from: 'from', to: 'to' }): TimeWindow {
  const start = from === undefined ? null : parseInstant(from, `${flag}${names.from}`);
  let end: Date | null = null;
  if (to !== undefined) {
    const t = parseInstant(to, `${flag}${names.to}`);
    end = dateOnly.test(to) ? new Date(t.getTime() + 86_400_000) : new Date(t.getTime() + 1);
  }
  if (start && end && end <= start) throw new UsageError(`${flag}${names.from} ${from} is after ${flag}${names.to} ${to}`);
  return { from: start, toExclusive: end };
}

function parseInstant(text: string, flag: string): Date {
  if (!dateOnly.test(text) && !dateTime.test(text)) {
    throw new UsageError(`${flag} "${text}" is not a date (YYYY-MM-DD) or a date-time with offset (2024-01-02T14:30:00Z)`);
  }
  const parts = dateTime.exec(text);
  const day = parts ? parts[1]! : text;
  // Date rolls 2023-02-30 over to March 2; a real date survives the round trip.
  const midnight = new Date(`${day}T00:00:00Z`);
  const realTime = !parts || (Number(parts[2]) < 24 && Number(parts[3]) < 60 && Number(parts[4] ?? 0) < 60);
  if (Number.isNaN(midnight.getTime()) || midnight.toISOString().slice(0, 10) !== day || !realTime) {
    throw new UsageError(`${flag} "${text}" is not a real date${parts ? ' and time' : ''}`);
  }
  return parts ? new Date(text.replace(' ', 'T')) : midnight;
}

/** The narrower of two windows (a run's flags within a job's window). */
export function intersectWindows(a: TimeWindow, b: TimeWindow): TimeWindow {
  const from = a.from && b.from ? (a.from > b.from ? a.from : b.from) : (a.from ?? b.from);
  const to = a.toExclusive && b.toExclusive ? (a.toExclusive < b.toExclusive ? a.toExclusive : b.toExclusive) : (a.toExclusive ?? b.toExclusive);
  return { from, toExclusive: to };
}

/** The UTC day (YYYY-MM-DD) that holds the last instant before an exclusive end. */
export function lastDay(toExclusive: Date): string {
  return new Date(toExclusive.getTime() - 1).toISOString().slice(0, 10);
}
