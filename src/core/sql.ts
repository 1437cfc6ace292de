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
