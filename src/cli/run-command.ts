import { existsSync } from 'node:fs';
import { systemClock } from '../core/clock.js';
import { UsageError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { homePaths, resolveSettings } from '../core/settings.js';
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
  options: { fileLog?: boolean } = {},
): Promise<number> {
  const env = process.env;
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
  try {
    return await fn(ctx);
  } catch (err) {
    logger.debug(`${purpose} failed: ${errorMessage(err)}`, { stack: err instanceof Error ? err.stack : undefined });
    throw err;
  } finally {
    // Done or failed, the progress line goes before anything else is printed.
    progress.done();
    await ctx.close();
    await logger.close();
  }
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
