/** Quoting for the SQL text that stages generate. */

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as SQL`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return `'${value.replace(/'/g, "''")}'`;
}

/** A SQL list literal of strings: ['a', 'b']. */
export function stringList(values: readonly string[]): string {
  return `[${values.map((v) => literal(v)).join(', ')}]`;
}

/** Escapes text for use inside an RE2 pattern. */
export function re2Escape(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * A file path as DuckDB's readers take it: they expand *, ? and [ as a glob, so each becomes a
 * one-character class ([*], [?], [[]) that matches only itself.
 */
export function pathLiteral(file: string): string {
  return literal(file.replace(/[*?[]/g, (ch) => `[${ch}]`));
}

/** A SQL list of file paths for read_csv/read_parquet/read_json. */
export function pathList(files: readonly string[]): string {
  return `[${files.map(pathLiteral).join(', ')}]`;
}

/** A UTC instant as a DuckDB TIMESTAMP literal (timestamps are stored as UTC without a zone). */
export function timestampLiteral(at: Date): string {
  return `TIMESTAMP '${at.toISOString().replace('T', ' ').replace('Z', '')}'`;
}
