/** mdw as a library: open a warehouse and read it in-process. */
export { Warehouse, type OhlcvQuery } from './warehouse.js';
export type { TypedColumns, TypedColumn } from './lake/duckdb.js';
export { MdwError, RefusedSqlError } from './core/errors.js';
export { calendars } from './calendar/registry.js';
export type { TradingCalendar, Session, CalendarName } from './calendar/calendar.js';
