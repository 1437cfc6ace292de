import { zonedTimeToUtc } from '../core/zone.js';
import { addDays, eachDate, weekday, type Holiday, type Session, type TradingCalendar } from './calendar.js';

/**
 * The New York Stock Exchange, as exchange_calendars defines XNYS, checked day by day for
 * 1990-2030: regular hours 09:30-16:00 New York; early closes at 13:00 (14:00 before 1993).
 * Rules carry on after 2030, but unannounced closures (a state funeral, a storm) cannot.
 */
const zone = 'America/New_York';

/** Closures not given by a rule. */
const closures: Readonly<Record<string, string>> = {
  '1994-04-27': 'National Day of Mourning for Richard Nixon',
  '2001-09-11': 'September 11 attacks',
  '2001-09-12': 'September 11 attacks',
  '2001-09-13': 'September 11 attacks',
  '2001-09-14': 'September 11 attacks',
  '2004-06-11': 'National Day of Mourning for Ronald Reagan',
  '2007-01-02': 'National Day of Mourning for Gerald Ford',
  '2012-10-29': 'Hurricane Sandy',
  '2012-10-30': 'Hurricane Sandy',
  '2018-12-05': 'National Day of Mourning for George H. W. Bush',
  '2025-01-09': 'National Day of Mourning for Jimmy Carter',
};

/** Early closes not given by a rule, with their close time. */
const earlyCloses: Readonly<Record<string, string>> = {
  '1997-12-26': '13:00',
  '1999-12-31': '13:00',
  '2003-12-26': '13:00',
};

function ymd(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}

/** The n-th (1-based) given weekday of a month; n = -1 for the last one. */
function nthWeekday(year: number, month: number, dow: number, n: number): string {
  if (n > 0) {
    const first = ymd(year, month, 1);
    return addDays(first, ((dow - weekday(first) + 7) % 7) + (n - 1) * 7);
  }
  const last = ymd(year, month + 1, 0);
  return addDays(last, -((weekday(last) - dow + 7) % 7));
}

/** Saturday -> the Friday before, Sunday -> the Monday after. */
function nearestWeekday(date: string): string {
  const d = weekday(date);
  return d === 6 ? addDays(date, -1) : d === 0 ? addDays(date, 1) : date;
}

/** Easter Sunday, Gregorian (the anonymous algorithm). */
function easter(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(year, month, day);
}

const yearCache = new Map<number, { holidays: Map<string, string>; early: Map<string, string> }>();

/** The regular holidays and early closes of one year. */
function year(y: number): { holidays: Map<string, string>; early: Map<string, string> } {
  const cached = yearCache.get(y);
  if (cached) return cached;
  const holidays = new Map<string, string>();
  // A Saturday New Year's Day is not observed on the Friday before (that Friday ends a year).
  const newYear = ymd(y, 1, 1);
  if (weekday(newYear) !== 6) holidays.set(nearestWeekday(newYear), "New Year's Day");
  if (y >= 1998) holidays.set(nthWeekday(y, 1, 1, 3), 'Martin Luther King Jr. Day');
  holidays.set(nthWeekday(y, 2, 1, 3), "Washington's Birthday");
  holidays.set(addDays(easter(y), -2), 'Good Friday');
  holidays.set(nthWeekday(y, 5, 1, -1), 'Memorial Day');
  if (y >= 2022) holidays.set(nearestWeekday(ymd(y, 6, 19)), 'Juneteenth');
  holidays.set(nearestWeekday(ymd(y, 7, 4)), 'Independence Day');
  holidays.set(nthWeekday(y, 9, 1, 1), 'Labor Day');
  const thanksgiving = nthWeekday(y, 11, 4, 4);
  holidays.set(thanksgiving, 'Thanksgiving Day');
  holidays.set(nearestWeekday(ymd(y, 12, 25)), 'Christmas Day');

  const early = new Map<string, string>();
  const short = y < 1993 ? '14:00' : '13:00';
  const july3 = ymd(y, 7, 3);
  if (y >= 1995) {
    const d = weekday(july3);
    if (d === 1 || d === 2 || d === 4) early.set(july3, '13:00');
    // Independence Day on a Thursday: the early close was the Friday after until 2012, the
    // Wednesday before from 2013.
    if (d === 3) early.set(y < 2013 ? ymd(y, 7, 5) : july3, '13:00');
  }
  if (y >= 1992) early.set(addDays(thanksgiving, 1), short);
  const christmasEve = ymd(y, 12, 24);
  if (weekday(christmasEve) >= 1 && weekday(christmasEve) <= 4) early.set(christmasEve, short);
  const result = { holidays, early };
  yearCache.set(y, result);
  return result;
}

function closedFor(date: string): string | undefined {
  return closures[date] ?? year(Number(date.slice(0, 4))).holidays.get(date);
}

export const xnys: TradingCalendar = {
  name: 'XNYS',
  zone,
  checkedFrom: '1990-01-01',
  checkedTo: '2030-12-31',
  // Pre-market from 04:00, post-market to 20:00 (17:00 after an early close).
  extendedHours: (s) => ({ open: zonedTimeToUtc(s.date, '04:00', zone), close: new Date(s.close.getTime() + 4 * 3_600_000) }),
  rollHours: 0,
  description: 'New York Stock Exchange: 09:30-16:00 America/New_York, early closes 13:00 (14:00 before 1993)',
  sessions(from, to) {
    const out: Session[] = [];
    for (const date of eachDate(from, to)) {
      const d = weekday(date);
      if (d === 0 || d === 6 || closedFor(date)) continue;
      const close = earlyCloses[date] ?? year(Number(date.slice(0, 4))).early.get(date);
      out.push({ date, open: zonedTimeToUtc(date, '09:30', zone), close: zonedTimeToUtc(date, close ?? '16:00', zone), early: close !== undefined });
    }
    return out;
  },
  holidays(from, to) {
    const out: Holiday[] = [];
    for (const date of eachDate(from, to)) {
      const d = weekday(date);
      if (d === 0 || d === 6) continue;
      const name = closedFor(date);
      if (name) out.push({ date, name });
    }
    return out;
  },
};
