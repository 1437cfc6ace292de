import { allWeek, weekdaysAroundTheClock } from './around-the-clock.js';
import type { CalendarName, TradingCalendar } from './calendar.js';
import { xnys } from './xnys.js';

export const calendars: Record<CalendarName, TradingCalendar> = {
  XNYS: xnys,
  '24/7': allWeek,
  '24/5': weekdaysAroundTheClock,
};
