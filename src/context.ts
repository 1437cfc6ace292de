import type { Catalog } from './catalog/catalog.js';
import type { Clock } from './core/clock.js';
import type { Logger } from './core/logger.js';
import { homePaths, type HomePaths, type Settings } from './core/settings.js';
import type { DuckSession } from './lake/duckdb.js';

/**
 * Everything a command needs, built once by the CLI (or by a test) and passed down. The
 * catalog and DuckDB open on first use: most queries never touch the catalog, and a command
 * that needs neither never loads them.
 */
export interface Context {
  readonly settings: Settings;
  readonly paths: HomePaths;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly progress: Progress;
  catalog(purpose?: string): Promise<Catalog>;
  duck(): Promise<DuckSession>;
  close(): Promise<void>;
}

/** Progress for people at a terminal; silent otherwise (the logs carry the facts). */
export interface Progress {
  /** The step the work is at now, shown until the next one. */
  step(message: string): void;
  /** The work is over (done or failed): take the display down before results are printed. */
  done(): void;
}

export function createContext(options: {
  settings: Settings;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  clock: Clock;
  progress?: Progress;
  purpose?: string;
}): Context {
  const { settings, logger } = options;
  const paths = homePaths(settings.home);
  let catalog: Promise<Catalog> | undefined;
  let duck: Promise<DuckSession> | undefined;
  return {
    settings,
    paths,
    env: options.env,
    logger,
    clock: options.clock,
    progress: options.progress ?? { step: (m) => logger.debug(m), done: () => {} },
    catalog(purpose) {
      catalog ??= import('./catalog/catalog.js').then(({ openCatalog }) =>
        openCatalog(settings, logger, { purpose: purpose ?? options.purpose ?? 'mdw' }),
      );
      return catalog;
    },
    duck() {
      duck ??= import('./lake/duckdb.js').then(({ DuckSession }) =>
        DuckSession.open({ tempDir: paths.tmp, memoryLimit: settings.duckdbMemoryLimit, threads: settings.duckdbThreads }),
      );
      return duck;
    },
    /** Closes what was opened; a second close has nothing left to close. */
    async close() {
      const [c, d] = await Promise.allSettled([catalog, duck]);
      catalog = undefined;
      duck = undefined;
      if (d.status === 'fulfilled' && d.value) d.value.close();
      if (c.status === 'fulfilled' && c.value) await c.value.close();
    },
  };
}
