import { zoneOffsetMinutes } from '../core/zone.js';

/**
 * A five-field cron expression as Debian's cron (vixie cron 3.0) reads it: minute, hour, day of
 * month, month, day of week; each field a comma list of `*`, `n`, `a-b`, with `/step` after `*`
 * or a range; names for months (jan-dec) and weekdays (sun-sat); 0 and 7 are both Sunday. Pure.
 */
export interface CronExpression {
  /** As written, with runs of blanks made one space. */
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 (Sunday) to 6; a 7 is stored as 0. */
  readonly weekdays: ReadonlySet<number>;
  /**
   * Whether the day-of-month or day-of-week field starts with `*`: cron runs a line on a day
   * either restricted field matches when both are restricted, and needs both otherwise.
   */
  readonly daysStar: boolean;
  readonly weekdaysStar: boolean;
  /**
   * Whether the minute or hour field starts with `*`: such a line runs by the clock's every
   * minute, also in the hour a change to winter time repeats; a line at fixed times runs once.
   */
  readonly wildcardTime: boolean;
}

interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const fields: readonly FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** A cron expression that cannot be read; the message says which field and why. */
export class CronSyntaxError extends Error {}

export function parseCron(text: string): CronExpression {
  const trimmed = text.trim();
  if (trimmed.startsWith('@')) {
    throw new CronSyntaxError(`"${trimmed}": write the five fields (minute hour day-of-month month day-of-week), e.g. "30 17 * * 1-5", instead of an @ name`);
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5 || trimmed === '') {
    throw new CronSyntaxError(`"${trimmed}" has ${trimmed === '' ? 0 : parts.length} fields; a cron expression has five: minute hour day-of-month month day-of-week (e.g. "30 17 * * 1-5")`);
  }
  const sets = parts.map((p, i) => parseField(p, fields[i]!));
  const weekdays = new Set([...sets[4]!].map((d) => d % 7));
  return {
    text: parts.join(' '),
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays,
    daysStar: parts[2]!.startsWith('*'),
    weekdaysStar: parts[4]!.startsWith('*'),
    wildcardTime: parts[0]!.startsWith('*') || parts[1]!.startsWith('*'),
  };
}

function parseField(text: string, def: FieldDef): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) => new CronSyntaxError(`${def.name} field "${text}": ${why}`);
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(.+))?$/.exec(item);
    if (!m) throw bad(`"${item}" is not a value, a range or a step`);
    const [, range, stepText] = m;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw bad(`the step "/${stepText}" must be a whole number of at least 1`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = def.min;
      hi = def.max;
    } else {
      const ends = range!.split('-');
      if (ends.length > 2 || ends.some((e) => e === '')) throw bad(`"${range}" is not a value or a range a-b`);
      lo = value(ends[0]!, def, bad);
      hi = ends.length === 2 ? value(ends[1]!, def, bad) : lo;
      if (stepText !== undefined && ends.length === 1) throw bad(`a step applies to * or a range (write ${lo}-${def.max}/${step})`);
      if (lo > hi) throw bad(`the range ${range} runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, def: FieldDef, bad: (why: string) => CronSyntaxError): number {
  const named = def.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + (def.min === 1 ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(n)) throw bad(`"${text}" is not a number${def.names ? ` or a name (${def.names[0]}-${def.names.at(-1)})` : ''}`);
  if (n < def.min || n > def.max) throw bad(`${n} is outside ${def.min}-${def.max}`);
  return n;
}

/** The wall-clock fields of an instant in a zone (to the minute), as cron compares them. */
export interface WallClock {
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
  readonly month: number;
  /** 0 = Sunday. */
  readonly weekday: number;
}

export function wallClock(at: Date, zone: string): WallClock {
  const local = new Date(at.getTime() + zoneOffsetMinutes(at, zone) * 60_000);
  return {
    minute: local.getUTCMinutes(),
    hour: local.getUTCHours(),
    day: local.getUTCDate(),
    month: local.getUTCMonth() + 1,
    weekday: local.getUTCDay(),
  };
}

/** Whether cron runs the expression at this wall-clock minute (vixie cron's day rule included). */
export function matchesWallClock(cron: CronExpression, t: WallClock): boolean {
  if (!cron.minutes.has(t.minute) || !cron.hours.has(t.hour) || !cron.months.has(t.month)) return false;
  const day = cron.days.has(t.day);
  const weekday = cron.weekdays.has(t.weekday);
  return cron.daysStar || cron.weekdaysStar ? day && weekday : day || weekday;
}

/**
 * Whether the expression, read in `zone`, names the minute that holds `at`. As cron does in its
 * own zone, a line at fixed times runs once when the change to winter time repeats an hour (at
 * the first 01:30, not again an hour later); a time the change to summer time skips has no minute.
 */
export function isDue(cron: CronExpression, zone: string, at: Date): boolean {
  const wall = wallClock(at, zone);
  if (!matchesWallClock(cron, wall)) return false;
  if (cron.wildcardTime) return true;
  // The clock went back within the last hours: the same wall minute, that much earlier, was it.
  const back = zoneOffsetMinutes(new Date(at.getTime() - 3 * 3_600_000), zone) - zoneOffsetMinutes(at, zone);
  if (back <= 0) return true;
  const earlier = wallClock(new Date(at.getTime() - back * 60_000), zone);
  return !(earlier.minute === wall.minute && earlier.hour === wall.hour && earlier.day === wall.day && earlier.month === wall.month);
}
