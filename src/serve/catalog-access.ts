import { openCatalog, type Catalog } from '../catalog/catalog.js';
import type { Logger } from '../core/logger.js';
import type { Settings } from '../core/settings.js';

/**
 * The catalog as a long-running reader sees it. A Postgres server's catalog is opened once and
 * shared. The embedded one is single-process (one file lock), so the server opens it per request
 * and closes it straight after: an ingest started by cron waits at most one request, and a request
 * made while an ingest holds it waits briefly and then fails (503) instead of queueing behind
 * the whole run. Requests of this process take their turn, one at a time.
 */
export class CatalogAccess {
  private shared: Promise<Catalog> | undefined;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly settings: Settings,
    private readonly logger: Logger,
    /** How long a request waits for the embedded catalog's lock. */
    private readonly waitMs = 3000,
  ) {}

  async with<T>(fn: (catalog: Catalog) => Promise<T>): Promise<T> {
    if (this.settings.databaseUrl) {
      this.shared ??= openCatalog(this.settings, this.logger, { purpose: 'mdw serve', migrate: false });
      const catalog = await this.shared.catch((err: unknown) => {
        this.shared = undefined;
        throw err;
      });
      return fn(catalog);
    }
    const run = this.turn.then(async () => {
      const catalog = await openCatalog({ ...this.settings, lockTimeoutMs: this.waitMs }, this.logger, { purpose: 'mdw serve', migrate: false });
      try {
        return await fn(catalog);
      } finally {
        await catalog.close();
      }
    });
    this.turn = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    const shared = this.shared;
    this.shared = undefined;
    await this.turn;
    if (shared) await (await shared.catch(() => null))?.close();
  }
}
