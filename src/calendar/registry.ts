import { UsageError } from '../core/errors.js';
import { allWeek, weekdaysAroundTheClock } from './around-the-clock.js';
import type { CalendarName, TradingCalendar } from './calendar.js';
import { xnys } from './xnys.js';

export const calendars: Record<CalendarName, TradingCalendar> = {
  XNYS: xnys,
  '24/7': allWeek,
  '24/5': weekdaysAroundTheClock,
};

/** The calendar a user named (any case), or a UsageError that lists them. */
export function calendarNamed(name: string): TradingCalendar {
  const calendar = calendars[name.toUpperCase() as CalendarName] ?? calendars[name as CalendarName];
  if (!calendar) throw new UsageError(`no calendar "${name}": choose one of ${Object.keys(calendars).join(', ')}`);
  return calendar;
}
