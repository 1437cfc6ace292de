/**
 * Typed errors. Every failure a user can meet is an MdwError with a stable string code and
 * the process exit code it maps to. Only the CLI entry turns one into `process.exit`.
 */

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  locked: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class MdwError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode = ExitCode.failed, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments on the command line. */
export class UsageError extends MdwError {
  constructor(message: string) {
    super('usage', message, ExitCode.usage);
  }
}

/** A config file that does not parse or does not match its schema; names file:line:column. */
export class ConfigError extends MdwError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly pointer: string | undefined;

  constructor(
    message: string,
    where: { file?: string; line?: number; column?: number; pointer?: string } = {},
  ) {
    const at = where.file ? `${where.file}${where.line ? `:${where.line}:${where.column ?? 1}` : ''}: ` : '';
    super('config', `${at}${message}`, ExitCode.usage);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.pointer = where.pointer;
  }
}

/** Another process holds the lock this run needs. */
export class LockError extends MdwError {
  constructor(message: string) {
    super('locked', message, ExitCode.locked);
  }
}

/** The catalog could not be reached or migrated. */
export class CatalogError extends MdwError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('catalog', message, ExitCode.failed, options);
  }
}

/**
 * The disk that holds a path has no space left. Nothing more can be written there until space is
 * freed; what a run had done is kept or undone as for any failure, and the next run resumes.
 */
export class DiskFullError extends MdwError {
  readonly path: string;

  constructor(where: string, options?: { cause?: unknown }) {
    super('disk_full', `the disk is full: no space left to write ${where}; free some space there and run again`, ExitCode.failed, options);
    this.path = where;
  }
}

/**
 * Whether an error is a full disk, and the path it could not write when it names one (Node's
 * ENOSPC with the call's path; DuckDB's `Could not write file "<path>": No space left on device`);
 * null for a full disk that names no path (a write(2), Postgres' disk_full, whose file is
 * relative to its data folder); undefined for any other error.
 */
export function fullDiskPath(err: unknown): string | null | undefined {
  const e = err as { code?: unknown; path?: unknown; message?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  // 53100: Postgres' disk_full.
  if (e?.code !== 'ENOSPC' && e?.code !== '53100' && !/No space left on device/i.test(message)) return undefined;
  if (e?.code === 'ENOSPC' && typeof e.path === 'string') return e.path;
  const duck = /Could not write file "([^"]+)"/.exec(message);
  return duck ? duck[1]! : null;
}

/**
 * A file or folder mdw needs to write is not writable by this process (another user's, a
 * read-only mount): nothing was attempted, and a retry will not help until its owner or the
 * mount is changed, so it is a setup mistake like a missing warehouse (exit 2).
 */
export class AccessError extends MdwError {
  readonly path: string;

  constructor(file: string, message: string) {
    super('access', message, ExitCode.usage);
    this.path = file;
  }
}

/** Input data that cannot be read at all (missing file, unreadable layout). */
export class SourceError extends MdwError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('source', message, ExitCode.failed, options);
  }
}

/** An input file that is not what its job reads (binary, compressed, another layout): the run reads nothing. */
export class InputError extends MdwError {
  readonly file: string;

  constructor(file: string, message: string) {
    super('input', `${file}: ${message}`, ExitCode.usage);
    this.file = file;
  }
}

/**
 * The ingest lost count of records: an input's records are not all stored, repeated,
 * quarantined or filtered. Nothing of the batch is committed.
 */
export class InvariantError extends MdwError {
  constructor(message: string) {
    super('invariant', message, ExitCode.failed);
  }
}

/**
 * User SQL that would do more than read the lake: write, delete, load, change a setting, run a
 * second statement or read a file elsewhere. Refused before it runs, or by DuckDB as it opens
 * the file.
 */
export class RefusedSqlError extends MdwError {
  constructor(message: string) {
    super('sql_refused', message, ExitCode.usage);
  }
}

/** A run that did some of its work and stopped; what is done is kept. */
export class PartialError extends MdwError {
  constructor(message: string) {
    super('partial', message, ExitCode.partial);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `a`, `a and b`, `a, b and c`: names as a message lists them. */
export function andList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
