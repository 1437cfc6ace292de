import { RefusedSqlError, UsageError, errorMessage } from '../core/errors.js';
import { literal } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';

/**
 * SQL a user wrote (`mdw query sql`, the library's `sql()`) only reads: one SELECT, as DuckDB's
 * own parser reads it, calling no function that acts beyond its result, run on a session
 * confined to the lake (DuckSession.confine), which refuses any file elsewhere however it is
 * named. A statement is refused here before anything is bound or run.
 */
export const readOnlyRule =
  'query sql runs one SELECT (or WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE) over the dataset views and the files under the lake';

/**
 * The table functions a query may call: readers (DuckDB confines their files to the lake), series
 * and catalog listings. Not query() or json_execute_serialized_sql (SQL from a string, which
 * this check would not see), enable_logging or enable_profiling (they write files), checkpoint
 * and the rest: what is not named here is refused, so a function a new DuckDB adds is too.
 */
const tableFunctions: ReadonlySet<string> = new Set([
  'read_parquet', 'parquet_scan', 'parquet_metadata', 'parquet_schema', 'parquet_file_metadata', 'parquet_kv_metadata',
  'read_csv', 'read_csv_auto', 'sniff_csv', 'read_json', 'read_json_auto', 'read_ndjson', 'read_ndjson_auto',
  'read_json_objects', 'read_json_objects_auto', 'read_ndjson_objects', 'read_text', 'read_blob', 'glob',
  'range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree', 'histogram', 'histogram_values',
  'duckdb_columns', 'duckdb_views', 'duckdb_tables', 'duckdb_types', 'duckdb_functions', 'duckdb_keywords', 'duckdb_schemas',
  'duckdb_databases', 'duckdb_settings', 'pg_timezone_names', 'icu_calendar_names',
]);

/** Scalar functions that act beyond the query's result (DuckDB marks them as having side effects). */
const scalarFunctions: ReadonlySet<string> = new Set(['write_log']);

/** json_serialize_sql's answer: the parsed statements, or why there are none. */
type Parsed = { readonly error: true; readonly error_type: string; readonly error_message: string } | { readonly error: false; readonly statements: readonly { readonly node: Node }[] };
interface Node {
  readonly [key: string]: unknown;
}

/** The words a query begins with: a statement that begins so and is refused holds a form the parser does not serialise. */
const queryWords: ReadonlySet<string> = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', 'DESCRIBE', 'SHOW', 'SUMMARIZE']);

/**
 * Checks a user's SQL and returns the statement to run (without a closing `;`; a DESCRIBE, SHOW
 * or SUMMARIZE as a SELECT from it, which COPY takes), or throws: RefusedSqlError (exit 2) for
 * what it may not run, UsageError for a text that does not parse.
 */
export async function readOnlyQuery(duck: DuckSession, sql: string): Promise<string> {
  // json_serialize_sql is DuckDB's parser; it serialises SELECT statements only.
  const [row] = await duck.all<{ parsed: string }>(`SELECT json_serialize_sql(${literal(sql)}) AS parsed`);
  const parsed = JSON.parse(row!.parsed) as Parsed;
  if (parsed.error && parsed.error_type === 'parser') throw new UsageError(`Parser Error: ${parsed.error_message}`);
  const count = parsed.error ? await duck.statementCount(sql) : parsed.statements.length;
  if (count !== 1) throw refused(count === 0 ? 'there is no statement' : `this is ${count} statements`);
  if (parsed.error) {
    const word = firstWord(sql);
    throw refused(queryWords.has(word) ? 'this query holds a form DuckDB cannot check (a PIVOT, for one)' : `${word} is not one`);
  }
  const node = parsed.statements[0]!.node;
  const [denied] = calledFunctions(node);
  if (denied) throw refused(`${denied}() is not allowed here`);
  // The statement without what follows its `;` (only comments can: it is one statement), so
  // that it can be wrapped; the cut must parse to the very statement that was checked.
  const text = statementText(sql);
  if (text !== sql.trim()) {
    const [again] = await duck.all<{ parsed: string }>(`SELECT json_serialize_sql(${literal(text)}) AS parsed`);
    if (JSON.stringify((JSON.parse(again!.parsed) as Parsed & { statements?: unknown }).statements) !== JSON.stringify(parsed.statements)) {
      throw refused('what follows its ";" could not be told apart from it');
    }
  }
  // DESCRIBE, SHOW and SUMMARIZE parse as a SELECT from a SHOW_REF. The newline ends a -- comment.
  return node.type === 'SELECT_NODE' && (node.from_table as Node | undefined)?.type === 'SHOW_REF' ? `SELECT * FROM (${text}\n)` : text;
}

/**
 * Runs a checked query on a confined session: DuckDB's refusal of a file outside the lake (a
 * reader's argument, or a path in FROM, which DuckDB then no longer takes for a file) becomes a
 * RefusedSqlError naming the path.
 */
export async function refusingOutside<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const message = errorMessage(err);
    const denied = /Permission Error: Cannot access (?:file|directory) "([^"]*)"/.exec(message) ?? /Catalog Error: Table with name ([^\s]*\/[^\s]*) does not exist/.exec(message);
    if (denied) throw refused(`${denied[1]} is outside the lake`);
    throw err;
  }
}

function refused(why: string): RefusedSqlError {
  return new RefusedSqlError(`${readOnlyRule}: ${why}`);
}

/** Table functions not allowed and scalar functions that act beyond the result, anywhere in a parsed statement. */
function calledFunctions(tree: unknown): string[] {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const n = node as Node;
    const fn = n.function as Node | undefined;
    if (n.type === 'TABLE_FUNCTION' && typeof fn?.function_name === 'string' && !tableFunctions.has(fn.function_name.toLowerCase())) out.add(fn.function_name.toLowerCase());
    if (n.class === 'FUNCTION' && typeof n.function_name === 'string' && scalarFunctions.has(n.function_name.toLowerCase())) out.add(n.function_name.toLowerCase());
    Object.values(n).forEach(walk);
  };
  walk(tree);
  return [...out];
}

/**
 * The text up to the first `;` outside quotes, identifiers, comments and dollar-quoted strings,
 * trimmed; the whole text when there is none.
 */
function statementText(sql: string): string {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === ';') return sql.slice(0, i).trim();
    if (c === "'" || c === '"') {
      // A quote inside is doubled: '' or "".
      i++;
      while (i < sql.length && !(sql[i] === c && sql[i + 1] !== c)) i += sql[i] === c ? 2 : 1;
      i++;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? sql.length : end + tag.length;
      } else i++;
    } else i++;
  }
  return sql.trim();
}

/** The statement's first word, for the message only (the parser decided). */
function firstWord(sql: string): string {
  const word = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z_]+)/.exec(sql)?.[1];
  return word ? word.toUpperCase() : 'this statement';
}
