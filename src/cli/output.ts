import Table from 'cli-table3';
import { UsageError } from '../core/errors.js';

/** Output formats; machine formats go to stdout, people read tables. */
export type Format = 'table' | 'csv' | 'json' | 'ndjson' | 'arrow' | 'parquet';
export const recordFormats: readonly Format[] = ['table', 'csv', 'json', 'ndjson'];
export const queryFormats: readonly Format[] = ['table', 'csv', 'json', 'ndjson', 'arrow', 'parquet'];

/** A table on a terminal, CSV when piped, unless --format says otherwise. */
export function resolveFormat(requested: string | undefined, tty: boolean, allowed: readonly Format[] = recordFormats): Format {
  if (requested === undefined) return tty ? 'table' : 'csv';
  if (!(allowed as readonly string[]).includes(requested)) {
    throw new UsageError(`--format ${requested} is not one of ${allowed.join(', ')}`);
  }
  return requested as Format;
}

export type Cell = string | number | boolean | null | undefined | Date | bigint;

/** Renders a small result (a summary, a listing) held as JS rows. */
export function formatRecords(rows: readonly Record<string, Cell>[], columns: readonly string[], format: Format): string {
  switch (format) {
    case 'table': {
      const table = new Table({
        head: [...columns],
        style: { head: [], border: [], compact: true },
      });
      for (const r of rows) table.push(columns.map((c) => text(r[c])));
      return `${table.toString()}\n`;
    }
    case 'csv':
      return [columns.map(csvField).join(','), ...rows.map((r) => columns.map((c) => csvField(text(r[c]))).join(','))].join('\n') + '\n';
    case 'json':
      return `${JSON.stringify(rows.map((r) => pick(r, columns)), jsonValue, 2)}\n`;
    case 'ndjson':
      return rows.map((r) => JSON.stringify(pick(r, columns), jsonValue)).join('\n') + (rows.length ? '\n' : '');
    default:
      throw new UsageError(`--format ${format} is only for query results`);
  }
}

function pick(r: Record<string, Cell>, columns: readonly string[]): Record<string, Cell> {
  return Object.fromEntries(columns.map((c) => [c, r[c] ?? null]));
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

export function text(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
  return String(v);
}

export function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
