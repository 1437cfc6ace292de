import { zoneOffsetMinutes } from '../core/zone.js';
import type { CronExpression } from './cron-expression.js';

/**
 * Debian's cron runs every line in the server's zone and has no per-line zone (no CRON_TZ).
 * A schedule in another zone whose distance to the server's changes over the year (New York's
 * summer time on a UTC server) has no one cron line that is right all year. So such a schedule
 * becomes lines at every server minute it can fall on, each guarded by `mdw cron due`, which lets
 * the command run only when the minute, read in the schedule's zone, is one the expression names.
 */
export interface ServerLine {
  /** The five fields cron reads, in the server's zone. */
  readonly expression: string;
  /** Whether the line must ask `mdw cron due` before it runs. */
  readonly guarded: boolean;
}

const hourMs = 3_600_000;

/**
 * The distances (minutes, the schedule's zone ahead of the server's) that occur from `from` over
 * the next two years, sampled hourly: every state two zones' clock rules can be in lasts weeks.
 */
export function zoneDistances(zone: string, serverZone: string, from: Date): number[] {
  const start = Math.floor(from.getTime() / hourMs) * hourMs;
  const key = `${zone}|${serverZone}|${start}`;
  const known = distancesKnown.get(key);
  if (known) return [...known];
  const out = new Set<number>();
  for (let t = start; t < start + 2 * 366 * 24 * hourMs; t += hourMs) {
    const at = new Date(t);
    out.add(zoneOffsetMinutes(at, zone) - zoneOffsetMinutes(at, serverZone));
  }
  const distances = [...out].sort((a, b) => a - b);
  distancesKnown.set(key, distances);
  return [...distances];
}

/** 17,568 hours cost two Intl calls each: a crontab's schedules mostly share their zones. */
const distancesKnown = new Map<string, readonly number[]>();

/** The hours of the day a zone's clock shows twice when it goes back (New York: 1), over two years from `from`. */
export function repeatedHours(zone: string, from: Date): ReadonlySet<number> {
  const start = Math.floor(from.getTime() / hourMs) * hourMs;
  const key = `${zone}|${start}`;
  const known = repeatedKnown.get(key);
  if (known) return known;
  const out = new Set<number>();
  const offset = (t: number) => zoneOffsetMinutes(new Date(t), zone);
  for (let t = start + hourMs; t < start + 2 * 366 * 24 * hourMs; t += hourMs) {
    const back = offset(t - hourMs) - offset(t);
    if (back <= 0) continue;
    // The minute the clock went back, within that hour; the wall hours of the `back` minutes after it come twice.
    let lo = t - hourMs;
    let hi = t;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offset(mid) === offset(t)) hi = mid;
      else lo = mid;
    }
    for (let m = 0; m < back; m++) {
      const at = hi + m * 60_000;
      out.add(new Date(at + offset(at) * 60_000).getUTCHours());
    }
  }
  repeatedKnown.set(key, out);
  return out;
}

const repeatedKnown = new Map<string, ReadonlySet<number>>();

/** The server-zone lines that run `cron` (read in `zone`) on a server in `serverZone`. */
export function serverLines(cron: CronExpression, zone: string, serverZone: string, from: Date): ServerLine[] {
  const distances = zoneDistances(zone, serverZone, from);
  if (distances.length === 1 && distances[0] === 0) return [{ expression: cron.text, guarded: false }];
  // Every server minute of the day the schedule's minutes can land on; the guard decides the day.
  const hoursByMinute = new Map<number, Set<number>>();
  for (const h of cron.hours) {
    for (const m of cron.minutes) {
      for (const d of distances) {
        const s = (((h * 60 + m - d) % 1440) + 1440) % 1440;
        const minute = s % 60;
        if (!hoursByMinute.has(minute)) hoursByMinute.set(minute, new Set());
        hoursByMinute.get(minute)!.add(Math.floor(s / 60));
      }
    }
  }
  // Cron runs a line at fixed times once in the hour a change to winter time repeats, and the
  // minute the guard lets through may be the second one: a line with an hour the server repeats
  // runs by the clock, every hour (cron's rule for an hour field that starts with *).
  const repeated = repeatedHours(serverZone, from);
  // Minutes that share their hours share a line.
  const minutesByHours = new Map<string, number[]>();
  for (const [minute, hours] of [...hoursByMinute].sort((a, b) => a[0] - b[0])) {
    const key = [...hours].some((h) => repeated.has(h)) ? '*' : cronList([...hours], 0, 23);
    if (!minutesByHours.has(key)) minutesByHours.set(key, []);
    minutesByHours.get(key)!.push(minute);
  }
  return [...minutesByHours]
    .map(([hours, minutes]) => ({ expression: `${cronList(minutes, 0, 59)} ${hours} * * *`, guarded: true }))
    .sort((a, b) => a.expression.localeCompare(b.expression, 'en', { numeric: true }));
}

/** Values as a cron field: `*` for all of min-max, runs of three or more as a-b. */
export function cronList(values: readonly number[], min: number, max: number): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}-${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(',');
}

const weekdayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const shortDays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** When a schedule runs, in words a comment can carry: `Mon-Fri at 17:30 America/New_York`. */
export function describeSchedule(cron: CronExpression, zone: string): string {
  const minutes = cronList([...cron.minutes], 0, 59);
  const hours = cronList([...cron.hours], 0, 23);
  const at =
    cron.minutes.size === 1 && cron.hours.size === 1
      ? `at ${pad([...cron.hours][0]!)}:${pad([...cron.minutes][0]!)} ${zone}`
      : minutes === '*' && hours === '*'
        ? `every minute (${zone})`
        : `at minute ${minutes} of ${hours === '*' ? 'every hour' : `hour ${hours}`} (${zone})`;
  const allMonths = cron.months.size === 12;
  let days: string | undefined;
  if (allMonths && cron.daysStar && cron.days.size === 31) {
    const wd = [...cron.weekdays].sort((a, b) => a - b);
    if (wd.length === 7) days = 'every day';
    else if (wd.length === 1) days = `every ${weekdayNames[wd[0]!]}`;
    else days = cronList(wd, 0, 6).replace(/\d/g, (d) => shortDays[Number(d)]!);
  } else if (allMonths && cron.weekdaysStar && cron.weekdays.size === 7 && cron.days.size === 1) {
    days = `on day ${[...cron.days][0]} of every month`;
  }
  if (days === 'every day' && at.startsWith('every minute')) return at;
  return days ? `${days} ${at}` : `on "${cron.text}" in ${zone}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
