import { zonedTimeToUtc } from '../core/zone.js';
import { addDays, eachDate, weekday, type Session, type TradingCalendar } from './calendar.js';

/** Crypto: every day is a session, 00:00 to 24:00 UTC. */
export const allWeek: TradingCalendar = {
  name: '24/7',
  zone: 'UTC',
  description: 'Every day, 00:00-24:00 UTC (crypto)',
  sessions(from, to) {
    return [...eachDate(from, to)].map((date): Session => ({
      date,
      open: new Date(`${date}T00:00:00Z`),
      close: new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000),
      early: false,
    }));
  },
  holidays: () => [],
  checkedFrom: '1970-01-01',
  checkedTo: '9999-12-31',
  extendedHours: (s) => s,
  rollHours: 0,
};

/**
 * FX: Sunday 17:00 to Friday 17:00 New York. The session of a weekday D runs from 17:00 New
 * York on the day before to 17:00 on D, so Monday's opens on Sunday evening.
 */
export const weekdaysAroundTheClock: TradingCalendar = {
  name: '24/5',
  zone: 'America/New_York',
  description: 'Sunday 17:00 to Friday 17:00 America/New_York (FX); the session of a weekday opens at 17:00 the day before',
  sessions(from, to) {
    const out: Session[] = [];
    for (const date of eachDate(from, to)) {
      const d = weekday(date);
      if (d === 0 || d === 6) continue;
      out.push({ date, open: zonedTimeToUtc(addDays(date, -1), '17:00', this.zone), close: zonedTimeToUtc(date, '17:00', this.zone), early: false });
    }
    return out;
  },
  holidays: () => [],
  checkedFrom: '1970-01-01',
  checkedTo: '9999-12-31',
  extendedHours: (s) => s,
  // The 17:00 New York roll opens the next weekday's session: 7 hours before midnight.
  rollHours: 7,
};
