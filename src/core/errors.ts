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
