import type { TradingCalendar } from '../calendar/calendar.js';
import { sessionDateSql, stampReading, type StampConvention } from '../calendar/session-stamp.js';
import { defaultNulls, type RawColumn, type ReadType } from '../core/raw.js';
import type { ColumnRule, StampRule, SymbolRule, TransformRules } from '../config/types.js';
import { duckdbType, type ColumnDef, type ColumnType, type DatasetDef } from '../core/datasets.js';
import { intervalSql, isSessionLabelled, type Granularity } from '../core/granularity.js';
import { ident, literal, re2Escape } from '../core/sql.js';


/**
 * Compiles transform rules into one SQL SELECT over a raw relation. The raw relation has
 * `_file` and the source columns; the result has the dataset's canonical columns, `_file`,
 * `_errors` (why values could not be read, as text; NULL for most rows), `_fold` (a local time in the
 * repeated autumn hour), `_skip` (a record skip_when marks as no row) and `_raw` (the source
 * record, kept for quarantine). Daily and longer
 * bars also carry `_stamp`, the instant the source stamped the bar with (NULL for a plain
 * date), and `_stamp_as`, how it was read, for reasons that name both dates. Pure: no I/O;
 * DuckDB runs it columnar, in read order.
 */
export function compileTransform(input: {
  rules: TransformRules;
  dataset: DatasetDef;
  granularity: Granularity;
  /** The job's calendar: a stamp within_session names its trading day. */
  calendar: TradingCalendar | null;
  /** Source columns as the reader exposes them (text, or numbers from typed formats). */
  sourceColumns: readonly RawColumn[];
  /** The relation to read from: a table name or a parenthesised subquery. */
  from: string;
  /** The relation numbers its records (`_rn`); it is passed through. */
  numbered?: boolean;
}): string {
  const { rules, dataset, granularity, sourceColumns } = input;
  const nulls = rules.nulls ?? defaultNulls;
  const texts = new Map<string, string>();
  // Each source column used is cleaned once (trimmed, nulls mapped to NULL) as t0, t1, ...
  const textOf = (source: string): string => {
    let alias = texts.get(source);
    if (!alias) {
      alias = `t${texts.size}`;
      texts.set(source, alias);
    }
    return ident(alias);
  };

  const select: string[] = [];
  const errors: ErrorCase[] = [];
  let zoned: ZonedTime | undefined;
  let fold = 'false';
  let stamp: StampColumns = { stamp: 'NULL::TIMESTAMP', as: 'NULL::VARCHAR' };
  const symbol = rules.symbol ? symbolExpr(rules.symbol, textOf) : 'NULL::VARCHAR';
  const session = { calendar: input.calendar, symbol, numeric: new Set(sourceColumns.filter((c) => c.type === 'DOUBLE').map((c) => c.name)) };
  for (const col of dataset.columns.filter((c) => producedColumns(rules, dataset).includes(c.name))) {
    if (col.name === dataset.symbolColumn) {
      select.push(`${symbol} AS ${ident(col.name)}`);
      continue;
    }
    const rule = rules.columns[col.name];
    const constant = rules.constants?.[col.name];
    if (rule) {
      const expr = columnExpr(col, rule, rules, granularity, textOf, dataset, session);
      select.push(`${expr.value} AS ${ident(col.name)}`);
      errors.push(...expr.errors);
      if (expr.zoned) {
        zoned = expr.zoned;
        fold = expr.zoned.fold;
      }
      if (expr.stamp) stamp = expr.stamp;
    } else {
      select.push(`CAST(${literal(constant ?? null)} AS ${duckdbType[col.type]}) AS ${ident(col.name)}`);
    }
  }
  // A record the transform says holds no row of the dataset (filtered in readChecked).
  const skip = rules.skip_when
    ? Object.entries(rules.skip_when)
        .map(([field, marks]) => `coalesce(list_contains([${marks.map(literal).join(', ')}], ${textOf(field)}), false)`)
        .join(' AND ')
    : 'false';
  const byName = new Map(sourceColumns.map((c) => [c.name, c]));
  // Text is trimmed and null markers become NULL; numbers from a typed reader pass as they are.
  const cleaned = [...texts.entries()].map(([source, alias]) => {
    const column = byName.get(source);
    const name = ident(column?.sql ?? source);
    const value = column?.type === 'DOUBLE' ? name : cleanText(name, nulls, column?.nullsMapped ?? false);
    return `${value} AS ${ident(alias)}`;
  });
  // The record as the source had it, for the quarantine. A struct's field names ignore case,
  // so fields that differ only in case are kept in a JSON object under their own names.
  const raw = sourceColumns.some((c) => c.sql)
    ? `json_object(${sourceColumns.map((c) => `${literal(c.name)}, ${ident(c.sql ?? c.name)}`).join(', ')})`
    : `struct_pack(${sourceColumns.map((c) => `${ident(c.name)} := ${ident(c.name)}`).join(', ')})`;
  const rn = input.numbered ? '_rn, ' : '';
  const inner = `SELECT _file, ${rn}${cleaned.length ? `${cleaned.join(', ')}, ` : ''}${raw} AS _raw FROM ${input.from}`;
  // A local date-time is parsed once, then shifted to UTC by its day's offset (see zoneDays).
  const from = zoned
    ? `(SELECT m.*, z._tz_off, z._tz_shift FROM (SELECT *, ${zoned.local} AS _local FROM (${inner})) m ` +
      `LEFT JOIN ${zoneDays(zoned.zone)} z ON z._tz_day = CAST(m._local AS DATE))`
    : `(${inner})`;
  const stamped = isSessionLabelled(granularity) ? [`  ${stamp.stamp} AS _stamp, ${stamp.as} AS _stamp_as,`] : [];
  return [
    'SELECT',
    `  ${select.join(',\n  ')},`,
    `  _file,${input.numbered ? ' _rn,' : ''}`,
    `  ${errorText(errors)} AS _errors,`,
    `  ${fold} AS _fold,`,
    `  ${skip} AS _skip,`,
    ...stamped,
    '  _raw',
    `FROM ${from}`,
  ].join('\n');
}

/** The instant a daily bar was stamped with, and how its session was read from it. */
interface StampColumns {
  readonly stamp: string;
  readonly as: string;
}

/** What a column is read against: the job's calendar and the row's stored symbol (for session stamps), and the source columns a typed reader gives as numbers. */
interface SessionContext {
  readonly calendar: TradingCalendar | null;
  readonly symbol: string;
  readonly numeric: ReadonlySet<string>;
}

/**
 * The dataset columns a transform produces (mapped, constant, and the symbol), in dataset order.
 * The others are not carried through the batch at all: they are NULL where rows are written.
 */
export function producedColumns(rules: TransformRules, dataset: DatasetDef): string[] {
  return dataset.columns
    .map((c) => c.name)
    .filter((n) => n === dataset.symbolColumn || n in rules.columns || (rules.constants !== undefined && n in rules.constants));
}

/**
 * After a load into `table` (rows in read order): a local time that the autumn clock change
 * makes happen twice was read as the later (standard-time) instant. The first occurrence of
 * each such time is the earlier one (daylight time), so it moves back by the hour the clocks
 * repeated. `also` are assignments to redo for the moved rows (a partition period, say).
 */
export function resolveFoldsSql(table: string, dataset: DatasetDef, also: readonly string[] = []): string {
  const key = dataset.key.map(ident).join(', ');
  const ts = ident(dataset.timeColumn);
  return (
    `UPDATE ${table} SET ${[`${ts} = ${ts} - INTERVAL 1 HOUR`, ...also].join(', ')} WHERE rowid IN (` +
    `SELECT row FROM (SELECT rowid AS row, row_number() OVER (PARTITION BY ${key} ORDER BY rowid) AS k FROM ${table} WHERE _fold) WHERE k = 1)`
  );
}

/**
 * The source columns a transform reads (an input lacking one cannot be ingested), each with
 * the type a typed reader should give it: a number wherever the value becomes a number, text
 * otherwise (dates, symbols, nanosecond epochs that a double would round).
 */
export function sourceReadTypes(rules: TransformRules, dataset: DatasetDef): Record<string, ReadType> {
  const types = new Map<string, ReadType>();
  const want = (source: string, type: ReadType) => types.set(source, types.has(source) && types.get(source) !== type ? 'VARCHAR' : type);
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  for (const [name, rule] of Object.entries(rules.columns)) {
    const sources = [rule.from].flat();
    const col = byName.get(name);
    const numeric =
      sources.length === 1 &&
      ((col?.type === 'double' || col?.type === 'bigint') || (rule.epoch !== undefined && rule.epoch !== 'ns'));
    for (const source of sources) want(source, numeric ? 'DOUBLE' : 'VARCHAR');
  }
  for (const rule of Object.values(rules.columns)) for (const field of Object.keys(rule.when ?? {})) want(field, 'VARCHAR');
  for (const field of Object.keys(rules.skip_when ?? {})) want(field, 'VARCHAR');
  if (rules.symbol?.from) want(rules.symbol.from, 'VARCHAR');
  return Object.fromEntries(types);
}

/**
 * Text as the transform reads it: null markers become NULL, surrounding spaces go. Written to
 * stay cheap on millions of rows: trim() copies every string, and `x IN (...)` in a projection
 * becomes a join, so spaces are trimmed only where there are some and markers are looked up
 * with list_contains.
 */
function cleanText(source: string, nulls: readonly string[], mapped: boolean): string {
  const markers = `[${nulls.map((n) => literal(n)).join(', ')}]`;
  const isMarker = (x: string) => (nulls.length ? `list_contains(${markers}, ${x})` : 'false');
  const trimmed = `trim(${source})`;
  return (
    `CASE WHEN ${source} IS NULL${mapped ? '' : ` OR ${isMarker(source)}`} THEN NULL ` +
    `WHEN starts_with(${source}, ' ') OR ends_with(${source}, ' ') THEN (CASE WHEN ${isMarker(trimmed)} THEN NULL ELSE ${trimmed} END) ` +
    `ELSE ${source} END`
  );
}

/** A reason a value could not be read: when it applies, and the text. */
interface ErrorCase {
  readonly when: string;
  readonly message: string;
}

/**
 * The reasons of a row as one text ('; '-separated, each starting with its column and a
 * colon), built only for rows that have one: almost every row has none.
 */
function errorText(errors: readonly ErrorCase[]): string {
  if (errors.length === 0) return 'NULL::VARCHAR';
  const any = errors.map((e) => `(${e.when})`).join(' OR ');
  const each = errors.map((e) => `CASE WHEN ${e.when} THEN ${e.message} END`).join(', ');
  return `(CASE WHEN ${any} THEN concat_ws('; ', ${each}) END)`;
}

interface ZonedTime {
  readonly zone: string;
  /** The local TIMESTAMP, before its offset is known. */
  readonly local: string;
  /** True for a local time that happens twice (the autumn clock change). */
  readonly fold: string;
}

function columnExpr(
  col: ColumnDef,
  rule: ColumnRule,
  rules: TransformRules,
  g: Granularity,
  textOf: (source: string) => string,
  dataset: DatasetDef,
  session: SessionContext,
): { value: string; errors: ErrorCase[]; zoned?: ZonedTime; stamp?: StampColumns } {
  const sources = [rule.from].flat();
  const text =
    sources.length === 1 ? textOf(sources[0]!) : `nullif(concat_ws(' ', ${sources.map((s) => textOf(s)).join(', ')}), '')`;
  const withDefault = rule.default !== undefined && rule.default !== null ? `coalesce(${text}, ${literal(String(rule.default))})` : text;
  const cannotRead = (value: string, expect: string): ErrorCase => ({
    when: `${withDefault} IS NOT NULL AND ${value} IS NULL`,
    message: `'${col.name}: cannot read "' || ${withDefault} || '" as ${expect.replace(/'/g, "''")}'`,
  });
  // A number from a typed reader (JSON) is one already; text must have a number's exact form.
  const isText = !(sources.length === 1 && session.numeric.has(sources[0]!));
  if (col.type === 'timestamp') {
    // Only the time column is a bar's stamp: another time (a delisting, say) is an instant.
    const time = timeExpr(rule, g, withDefault, col.name === dataset.timeColumn && isSessionLabelled(g) ? session : null, isText);
    return {
      value: time.value,
      errors: [cannotRead(time.value, time.expect), ...(time.gap ? [time.gap] : [])],
      ...(time.zoned ? { zoned: time.zoned } : {}),
      ...(time.stamp ? { stamp: time.stamp } : {}),
    };
  }
  let { value, expect } = typedExpr(col.type, mappedText(rule, withDefault), isText);
  const scale = rule.scale ?? (col.role === 'price' ? rules.price_scale : undefined);
  if (scale !== undefined && scale !== 1) value = scaled(value, scale);
  const when = Object.entries(rule.when ?? {});
  if (when.length === 0) return { value, errors: [cannotRead(value, expect)] };
  // A field that means different things by record kind: the others get NULL, and no error.
  const applies = when.map(([field, texts]) => `coalesce(list_contains([${texts.map(literal).join(', ')}], ${textOf(field)}), false)`).join(' AND ');
  const error = cannotRead(value, expect);
  return { value: `(CASE WHEN ${applies} THEN ${value} END)`, errors: [{ when: `${applies} AND ${error.when}`, message: error.message }] };
}

/** A text after the rule's map and case: mapped texts are replaced, the others pass as they are. */
function mappedText(rule: ColumnRule, text: string): string {
  let s = text;
  const map = Object.entries(rule.map ?? {});
  if (map.length) s = `(CASE ${s} ${map.map(([a, b]) => `WHEN ${literal(a)} THEN ${literal(b)}`).join(' ')} ELSE ${s} END)`;
  if (rule.case) s = `${rule.case}(${s})`;
  return s;
}

/**
 * Multiplies by a scale. A scale of 1/n divides by n instead, because 9982 * 0.01 is
 * 99.82000000000001 while 9982 / 100 is 99.82, the number the source meant.
 */
function scaled(value: string, scale: number): string {
  const inverse = 1 / scale;
  if (Number.isInteger(Math.round(inverse)) && Math.abs(inverse - Math.round(inverse)) < 1e-9 && Math.round(inverse) > 1) {
    return `(${value} / ${Math.round(inverse)})`;
  }
  return `(${value} * ${literal(scale)})`;
}

/**
 * DuckDB's casts are lenient where a warehouse must not be: 1_000 reads as 1000 and
 * 2024-01-05' OR '1'='1 as a date. A value must have the declared form exactly; these cheap
 * string tests (no regex: they run on every row) close the gaps the casts leave.
 */
const plainNumber = (t: string, text: boolean) => (text ? `NOT contains(${t}, '_')` : 'true');
/** YYYY-MM-DD and nothing after it (the cast accepts 24-01-05, 2024/01/05 and trailing text). */
const isoDateShape = (t: string) => `(length(${t}) = 10 AND substr(${t}, 5, 1) = '-' AND substr(${t}, 8, 1) = '-')`;
/** An RFC 3339 date-time begins with YYYY-MM-DD and T or a space. */
const isoDateTimeShape = (t: string) => `(substr(${t}, 5, 1) = '-' AND substr(${t}, 8, 1) = '-' AND (substr(${t}, 11, 1) = 'T' OR substr(${t}, 11, 1) = 't' OR substr(${t}, 11, 1) = ' '))`;

const typed: Record<ColumnType, (t: string, text: boolean) => { value: string; expect: string }> = {
  varchar: (t) => ({ value: t, expect: 'text' }),
  double: (t, text) => ({ value: `(CASE WHEN isfinite(TRY_CAST(${t} AS DOUBLE)) AND ${plainNumber(t, text)} THEN TRY_CAST(${t} AS DOUBLE) END)`, expect: 'a number' }),
  bigint: (t, text) => ({
    value: `(CASE WHEN TRY_CAST(${t} AS DOUBLE) = floor(TRY_CAST(${t} AS DOUBLE)) AND ${plainNumber(t, text)} THEN TRY_CAST(TRY_CAST(${t} AS DOUBLE) AS BIGINT) END)`,
    expect: 'a whole number',
  }),
  boolean: (t) => ({ value: `TRY_CAST(${t} AS BOOLEAN)`, expect: 'true or false' }),
  date: (t) => ({ value: `(CASE WHEN ${isoDateShape(t)} THEN TRY_CAST(${t} AS DATE) END)`, expect: 'a date (YYYY-MM-DD)' }),
  timestamp: (t) => ({ value: `TRY_CAST(${t} AS TIMESTAMP)`, expect: 'a timestamp' }),
};

/** Characters a strptime directive always reads; null for one of varying width (%f, %z, %b, %-d ...). */
const directiveWidth: Readonly<Record<string, number>> = { Y: 4, m: 2, d: 2, H: 2, M: 2, S: 2, y: 2, I: 2, j: 3, '%': 1 };

/**
 * The length every text of a format has, when all its directives have a fixed width: DuckDB's
 * strptime reads %Y from two digits and %m from one, so 24-01-05 and 2024015 would pass.
 */
export function fixedWidth(format: string): number | null {
  let n = 0;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') {
      n++;
      continue;
    }
    const width = directiveWidth[format[i + 1] ?? ''];
    if (width === undefined) return null;
    n += width;
    i++;
  }
  return n;
}

/** strptime of a text that must have the format's exact form. */
function strictStrptime(t: string, format: string): string {
  const width = fixedWidth(format);
  const parsed = `TRY_STRPTIME(${t}, ${literal(format)})`;
  return width === null ? parsed : `(CASE WHEN length(${t}) = ${width} THEN ${parsed} END)`;
}

function typedExpr(type: ColumnType, text: string, isText: boolean): { value: string; expect: string } {
  return typed[type](text, isText);
}

/**
 * Every time becomes a UTC TIMESTAMP; session-labelled bars become 00:00 of their session date.
 * The conversions avoid per-row ICU calls, which cost ~250 ns each: epochs and RFC 3339 offsets
 * are arithmetic, and a local time uses its day's offset from a small table (zoneDays), with
 * ICU only on the few days whose offset changes. `session` is set for the time column of
 * session-labelled bars.
 */
function timeExpr(
  rule: ColumnRule,
  g: Granularity,
  t: string,
  session: SessionContext | null,
  isText: boolean,
): { value: string; expect: string; gap?: ErrorCase; zoned?: ZonedTime; stamp?: StampColumns } {
  const midnight = (dateExpr: string) => `CAST(${dateExpr} AS TIMESTAMP)`;
  if (rule.date !== undefined) {
    const date = rule.date === '%Y-%m-%d' ? `(CASE WHEN ${isoDateShape(t)} THEN TRY_CAST(${t} AS DATE) END)` : `CAST(${strictStrptime(t, rule.date)} AS DATE)`;
    return { value: midnight(date), expect: `a date (${rule.date})` };
  }
  const zone = rule.timezone ? literal(rule.timezone) : undefined;
  let instant: string;
  let expect: string;
  if (rule.epoch !== undefined) {
    const micros: Record<NonNullable<ColumnRule['epoch']>, string> = {
      s: `TRY_CAST(TRY_CAST(${t} AS DOUBLE) * 1000000 AS BIGINT)`,
      ms: `TRY_CAST(TRY_CAST(${t} AS DOUBLE) * 1000 AS BIGINT)`,
      us: `TRY_CAST(TRY_CAST(${t} AS DOUBLE) AS BIGINT)`,
      ns: `TRY_CAST(TRY_CAST(${t} AS HUGEINT) // 1000 AS BIGINT)`,
    };
    instant = `(CASE WHEN ${plainNumber(t, isText)} THEN make_timestamp(${micros[rule.epoch]}) END)`;
    expect = `epoch ${rule.epoch}`;
  } else if (rule.datetime === 'iso') {
    // Z, ±HH:MM or ±HHMM at the end; plain string tests, as a regex costs ~0.2 µs a row.
    const at = (i: number) => `substr(${t}, ${i}, 1)`;
    const sign = (i: number) => `(${at(i)} = '+' OR ${at(i)} = '-')`;
    const offset = `(${at(-1)} = 'Z' OR ${at(-1)} = 'z' OR (${sign(-6)} AND ${at(-3)} = ':') OR (${sign(-5)} AND length(${t}) > 16))`;
    instant = `(CASE WHEN ${offset} AND ${isoDateTimeShape(t)} THEN make_timestamp(epoch_us(TRY_CAST(${t} AS TIMESTAMPTZ))) END)`;
    expect = 'an RFC 3339 time with offset';
  } else if (session) {
    // A daily bar's local date-time: only its date counts.
    return { value: midnight(`CAST(${strictStrptime(t, rule.datetime!)} AS DATE)`), expect: `a date-time (${rule.datetime!})` };
  } else {
    const shift = (ts: string) => `timezone(${zone!}, ${ts})`;
    const zoned: ZonedTime = {
      zone: rule.timezone!,
      local: strictStrptime(t, rule.datetime!),
      fold: `coalesce(_tz_shift AND ${shift(`${shift('_local')} - INTERVAL 1 HOUR`)} = _local, false)`,
    };
    const value = `(CASE WHEN _tz_shift IS DISTINCT FROM false THEN make_timestamp(epoch_us(${shift('_local')})) ELSE _local - to_seconds(_tz_off) END)`;
    const labelled = rule.label === 'end' ? `(${value} - ${intervalSql(g)})` : value;
    const gap: ErrorCase = {
      when: `coalesce(_tz_shift AND ${shift(shift('_local'))} <> _local, false)`,
      message: `'ts: ' || ${t} || ' does not exist in ' || ${zone!} || ' (the clocks skip it)'`,
    };
    return { value: labelled, expect: `a date-time (${rule.datetime!}) in ${rule.timezone!}`, gap, zoned };
  }
  // A bar stamped at its end (CoinGecko's candles) starts one bar earlier: a daily candle closing
  // 2024-01-02T00:00Z is the day 2024-01-01, so the session is read from its start.
  if (rule.label === 'end') instant = `(${instant} - ${intervalSql(g)})`;
  if (session) {
    // A daily bar stamped at an instant names its session by the vendor's convention for its market.
    const { date, reading } = stampedSession(instant, rule.stamp!, session);
    return { value: midnight(date), expect, stamp: { stamp: instant, as: reading } };
  }
  return { value: instant, expect };
}

/**
 * One row per day from 1970 to 2100: the zone's UTC offset at the start of the day (seconds)
 * and whether the offset changes during it. ~47k ICU calls once, instead of one per row.
 */
function zoneDays(zone: string): string {
  const z = literal(zone);
  const at = (ts: string) => `epoch(timezone(${z}, ${ts}))`;
  return (
    `(SELECT CAST(d AS DATE) AS _tz_day, CAST(epoch(d) - ${at('d')} AS BIGINT) AS _tz_off, ` +
    `${at('d + INTERVAL 1 DAY')} - ${at('d')} <> 86400 AS _tz_shift ` +
    `FROM range(TIMESTAMP '1970-01-01', TIMESTAMP '2101-01-01', INTERVAL 1 DAY) r(d))`
  );
}

/** The session date of an instant, and how it was read, by the first market whose symbols match. */
function stampedSession(instant: string, rule: StampRule, session: SessionContext): { date: string; reading: string } {
  const markets = rule.markets ?? [];
  const pick = (each: (c: StampConvention) => string) =>
    markets.length === 0
      ? each(rule)
      : `(CASE ${markets.map((m) => `WHEN regexp_matches(${session.symbol}, ${literal(m.symbols)}) THEN ${each(m)}`).join(' ')} ELSE ${each(rule)} END)`;
  return {
    date: pick((c) => sessionDateSql(instant, c, session.calendar)),
    reading: pick((c) => literal(stampReading(c, session.calendar))),
  };
}

function symbolExpr(rule: SymbolRule, textOf: (source: string) => string): string {
  let s: string;
  if (rule.value !== undefined) s = literal(rule.value);
  else if (rule.from !== undefined) s = textOf(rule.from);
  else {
    const pattern = rule.from_filename!;
    const group = /\((?!\?)/.test(pattern) ? 1 : 0;
    s = `regexp_extract(regexp_extract(_file, '[^/\\\\]+$'), ${literal(pattern)}, ${group})`;
  }
  const kase = rule.case ?? 'upper';
  if (kase === 'upper') s = `upper(${s})`;
  if (kase === 'lower') s = `lower(${s})`;
  const suffixes = (rule.strip_suffix ?? []).map((x) => (kase === 'upper' ? x.toUpperCase() : kase === 'lower' ? x.toLowerCase() : x));
  if (suffixes.length) s = `regexp_replace(${s}, ${literal(`(${suffixes.map(re2Escape).join('|')})$`)}, '')`;
  const map = Object.entries(rule.map ?? {});
  if (map.length) s = `(CASE ${s} ${map.map(([a, b]) => `WHEN ${literal(a)} THEN ${literal(b)}`).join(' ')} ELSE ${s} END)`;
  return `nullif(${s}, '')`;
}


/**
 * Whether the transform needs its records numbered: a local time is shifted by a join on its
 * day, and a join does not keep read order, which the autumn repeated hour depends on.
 */
export function needsReadOrder(rules: TransformRules, dataset: DatasetDef, g: Granularity): boolean {
  const ts = rules.columns[dataset.timeColumn];
  return Boolean(ts && ts.datetime !== undefined && ts.datetime !== 'iso' && !isSessionLabelled(g));
}
