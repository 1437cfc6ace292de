import { calendarNamed } from '../calendar/registry.js';
import type { TradingCalendar } from '../calendar/calendar.js';
import type { AdjustBasis } from '../curate/adjustments.js';
import { MdwError, errorMessage } from '../core/errors.js';
import { parseGranularity } from '../core/granularity.js';
import { parseWindow, type TimeWindow } from '../core/time-window.js';
import type { FileFormat } from '../cli/write-result.js';
import type { OhlcvRequest } from '../query/ohlcv-query.js';
import { defaultQualityThreshold } from '../validate/series-rules.js';

/**
 * Turning an HTTP request's query string into what the query code takes: every parameter is
 * checked here and becomes a typed value (a Date, a number, one of a list, a symbol of the
 * symbol alphabet), so nothing the client typed reaches SQL as it was typed. Pure: no I/O.
 */

/** A request the API refuses, naming the parameter at fault: 400, or 404 for what the lake lacks. */
export class ApiError extends MdwError {
  constructor(
    readonly status: 400 | 401 | 404 | 406 | 503,
    message: string,
    readonly parameter?: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super('api', message);
  }
}

export type Query = Readonly<Record<string, string | undefined>>;

/**
 * What a symbol may hold: letters, digits and the punctuation vendors use (BRK.B, X:BTCUSD,
 * ^GSPC, EURUSD=X, BTC-USD, BF_B). No slash, no quote, no space, no NUL: a symbol also names a
 * folder of the lake.
 */
const symbolPattern = /^[A-Za-z0-9^][A-Za-z0-9.:=_^-]{0,31}$/;
export const symbolPatternText = symbolPattern.source;

export function parseSymbol(text: string | undefined, parameter: string): string {
  if (text === undefined || text === '') throw new ApiError(400, `${parameter} is required`, parameter);
  if (!symbolPattern.test(text) || text.includes('..')) {
    throw new ApiError(400, `${parameter} "${printable(text)}" is not a symbol: 1-32 letters, digits and . : = _ ^ - (e.g. AAPL, BRK.B, X:BTCUSD)`, parameter);
  }
  return text;
}

export function parseSymbols(text: string | undefined, parameter: string): string[] {
  if (text === undefined || text.trim() === '') throw new ApiError(400, `${parameter} is required: symbols separated by commas, e.g. AAPL,MSFT`, parameter);
  const symbols = [...new Set(text.split(',').map((s) => s.trim()))];
  if (symbols.length > 500) throw new ApiError(400, `${parameter}: at most 500 symbols in one request (${symbols.length} given)`, parameter);
  return symbols.map((s) => parseSymbol(s, parameter));
}

/** start and end as the CLI's --from and --to: dates are whole UTC days, both ends inclusive. */
export function parseApiWindow(query: Query): TimeWindow {
  for (const parameter of ['start', 'end'] as const) {
    const value = query[parameter];
    if (value !== undefined) parsed(parameter, () => parseWindow(value, undefined, '', { from: parameter, to: parameter }));
  }
  return parsed('end', () => parseWindow(query.start, query.end, '', { from: 'start', to: 'end' }));
}

/** An instant, or a date meaning its end: records as of 2024-01-02 include that day's. */
export function parseAsOf(text: string, parameter: string): Date {
  const end = parsed(parameter, () => parseWindow(undefined, text, '', { from: parameter, to: parameter })).toExclusive!;
  return new Date(end.getTime() - 1);
}

const adjustBases: readonly AdjustBasis[] = ['none', 'splits', 'all'];

/** The parameters /historical and /prices share, as the request the CLI's `query ohlcv` makes. */
export function parseBarsRequest(query: Query, symbols: readonly string[]): { request: OhlcvRequest; calendar: TradingCalendar | undefined; extendedHours: boolean } {
  const granularity = parsed('granularity', () => parseGranularity(query.granularity ?? '1d').text);
  const adjust = oneOf(query, 'adjust', adjustBases);
  const minQuality = query.min_quality === undefined ? undefined : score(query.min_quality, 'min_quality');
  const validatedOnly = flag(query, 'validated_only');
  const columns = query.columns === undefined ? undefined : list(query.columns, 'columns', /^[a-z_]{1,32}$/);
  const limit = query.limit === undefined ? undefined : parseLimit(query.limit, 'limit');
  const source = query.source === undefined ? undefined : parseSymbol(query.source, 'source');
  return {
    request: {
      symbols,
      window: parseApiWindow(query),
      granularity,
      source,
      columns,
      limit,
      // validated_only keeps the rows a validation passed: quality at least the default threshold.
      minQuality: validatedOnly ? Math.max(minQuality ?? 0, defaultQualityThreshold) : minQuality,
      adjust,
      gold: flag(query, 'gold'),
    },
    calendar: query.calendar === undefined ? undefined : parsed('calendar', () => calendarNamed(query.calendar!)),
    extendedHours: flag(query, 'extended_hours'),
  };
}

/** Result formats by name (?format=) and by media type (Accept). */
export const mediaTypes: Record<FileFormat, string> = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
  arrow: 'application/vnd.apache.arrow.stream',
  parquet: 'application/vnd.apache.parquet',
};
const accepted: readonly [string, FileFormat][] = [
  ['application/json', 'json'],
  ['text/csv', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
  ['application/vnd.apache.arrow.stream', 'arrow'],
  ['application/vnd.apache.arrow.file', 'arrow'],
  ['application/vnd.apache.parquet', 'parquet'],
  ['application/x-parquet', 'parquet'],
];
export const formatNames = Object.keys(mediaTypes) as FileFormat[];

/** ?format= wins; else the first media type of Accept the API writes, by its q; else JSON. */
export function negotiateFormat(query: Query, accept: string | undefined): FileFormat {
  if (query.format !== undefined) return oneOf(query, 'format', formatNames)!;
  const wanted = (accept ?? '')
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type: type ?? '', q: q ? Number(q.slice(2)) : 1, i };
    })
    .filter((m) => m.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const m of wanted) {
    const hit = accepted.find(([type]) => type === m.type);
    if (hit) return hit[1];
    if (m.type === '*/*' || m.type === 'application/*') return 'json';
  }
  return 'json';
}

export function flag(query: Query, parameter: string): boolean {
  const v = query[parameter];
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === '' || v === 'true' || v === '1') return true;
  throw new ApiError(400, `${parameter} "${printable(v)}" is not true or false`, parameter);
}

export function oneOf<T extends string>(query: Query, parameter: string, choices: readonly T[]): T | undefined {
  const v = query[parameter];
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) throw new ApiError(400, `${parameter} "${printable(v)}" is not one of ${choices.join(', ')}`, parameter);
  return v as T;
}

function score(text: string, parameter: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ApiError(400, `${parameter} "${printable(text)}" is not a score from 0 to 1, e.g. 0.85`, parameter);
  return n;
}

export function parseLimit(text: string, parameter: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new ApiError(400, `${parameter} "${printable(text)}" is not a whole number from 1 to 999999999`, parameter);
  return Number(text);
}

function list(text: string, parameter: string, item: RegExp): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((s) => !item.test(s));
  if (items.length === 0 || bad !== undefined) throw new ApiError(400, `${parameter} "${printable(bad ?? text)}" is not a column name`, parameter);
  return items;
}

/** Runs a parser of the CLI's, saying its refusal as a 400 about the parameter. */
function parsed<T>(parameter: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const message = errorMessage(err);
    throw new ApiError(400, new RegExp(`\\b${parameter}\\b`).test(message) ? message : `${parameter}: ${message}`, parameter);
  }
}

/** A client's text as it may appear in a message: control characters escaped, at most 40 characters. */
function printable(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
