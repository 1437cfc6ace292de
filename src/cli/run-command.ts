import { existsSync } from 'node:fs';
import { systemClock } from '../core/clock.js';
import { DiskFullError, ExitCode, MdwError, UsageError, errorMessage, fullDiskPath } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { homePaths, resolveSettings, type Settings } from '../core/settings.js';
import { createContext, type Context, type Progress } from '../context.js';
import { terminalStatusLine } from './status-line.js';

/** Options every command sees: the global flags plus its own. */
export interface GlobalOptions {
  readonly home?: string;
  readonly configDir?: string;
  readonly lockTimeout?: number;
  readonly verbose?: boolean;
  readonly quiet?: boolean;
  readonly format?: string;
  readonly [option: string]: unknown;
}

/**
 * Builds the one context a command runs with (settings, logger, clock, lazy catalog and
 * DuckDB), runs it, and always closes what it opened.
 */
export async function withContext(
  opts: GlobalOptions,
  purpose: string,
  fn: (ctx: Context) => Promise<number>,
  options: { fileLog?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const env = options.env ?? process.env;
  const settings = resolveSettings(
    {
      home: opts.home,
      configDir: opts.configDir,
      databaseUrl: opts.databaseUrl as string | undefined,
      lockTimeoutSeconds: opts.lockTimeout,
      logLevel: opts.verbose ? 'debug' : opts.quiet ? 'warn' : undefined,
    },
    env,
  );
  const paths = homePaths(settings.home);
  const clock = systemClock;
  // On a terminal, progress is a spinner line on stderr that log lines write around; elsewhere
  // (cron, pipes, files, a terminal that reports no width to fit a line to, and a CI runner,
  // which sets CI=true and keeps what a terminal shows as a log) each step is a debug log line.
  const animate = process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && env.CI !== 'true';
  const status = animate ? terminalStatusLine(process.stderr) : undefined;
  const logger = createLogger({
    level: settings.logLevel,
    // Only a warehouse that exists gets log files, and read-only queries write none.
    logDir: options.fileLog !== false && existsSync(settings.home) ? paths.logs : undefined,
    color: Boolean(process.stderr.isTTY),
    today: clock.now(),
    stderr: status,
  });
  const progress: Progress = status ?? { step: (m) => logger.debug(m), done: () => {} };
  const ctx = createContext({ settings, env, logger, clock, progress, purpose });
  let outcome: { readonly code: number } | { readonly failed: unknown };
  try {
    outcome = { code: await fn(ctx) };
  } catch (err) {
    outcome = { failed: err };
  }
  // Done or failed, the progress line goes before anything else is printed.
  progress.done();
  try {
    // Releases the catalog lock, also when closing fails.
    await ctx.close();
  } catch (err) {
    // On a full disk closing fails too; the first failure is the one to tell.
    if ('code' in outcome) outcome = { failed: err };
    else logger.debug(`${purpose}: closing after the failure failed too: ${errorMessage(err)}`);
  }
  if ('failed' in outcome) {
    const err = outcome.failed;
    logger.debug(`${purpose} failed: ${errorMessage(err)}`, { stack: err instanceof Error ? err.stack : undefined });
  }
  await logger.close();
  if ('failed' in outcome) throw asDiskFull(outcome.failed, settings);
  return outcome.code;
}

/**
 * A full disk, however it surfaced (Node's ENOSPC, DuckDB's IO Error, Postgres' disk_full, wrapped
 * in a catalog error), said as one error naming the path: the one the error names, else the
 * embedded catalog for a catalog error, else the warehouse.
 */
function asDiskFull(err: unknown, settings: Settings): unknown {
  if (err instanceof DiskFullError) return err;
  if (err instanceof MdwError && err.exitCode !== ExitCode.failed) return err;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const where = fullDiskPath(e);
    if (where === undefined) continue;
    const inCatalog = (e as { name?: unknown }).name === 'PostgresError';
    const place = where ?? (!inCatalog ? settings.home : settings.databaseUrl ? 'the catalog database (on its Postgres server)' : homePaths(settings.home).catalog);
    return new DiskFullError(place, { cause: err });
  }
  return err;
}

export function stdoutIsTty(): boolean {
  return Boolean(process.stdout.isTTY);
}

/**
 * Commands that write to or read the catalog need a warehouse someone created: without one
 * (a cron line missing MDW_HOME, a typo in --home) they say so instead of creating one.
 */
export function requireHome(ctx: Context): void {
  if (!existsSync(ctx.settings.home)) {
    throw new UsageError(`no warehouse at ${ctx.settings.home}: create it with \`mdw init\`, or point MDW_HOME (or --home) at yours`);
  }
}
