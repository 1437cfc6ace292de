import { statfsSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import postgres from 'postgres';
import { AccessError, CatalogError, DiskFullError, LockError, errorMessage } from '../core/errors.js';
import { acquireFileLock, type FileLock } from '../core/file-lock.js';
import type { Logger } from '../core/logger.js';
import type { Settings } from '../core/settings.js';
import { homePaths, type HomePaths } from '../core/settings.js';
import { firstUnwritable } from '../core/writable-tree.js';
import { bindLake } from './lake-catalog.js';
import { migrate } from './migrate.js';

export type Sql = postgres.Sql<Record<string, never>>;
export type TxSql = postgres.TransactionSql<Record<string, never>>;
/** A client or a transaction: what a function of single statements runs on, so a caller can put it inside its own transaction. */
export type Queryable = postgres.ISql<Record<string, never>>;

/**
 * The catalog: one postgres.js client, whether the database is a Postgres server
 * (MDW_DATABASE_URL) or the embedded PGlite under MDW_HOME/catalog served on a loopback port.
 * One SQL dialect, one code path.
 */
export interface Catalog {
  readonly kind: 'embedded' | 'server';
  readonly sql: Sql;
  /** Serialises writers of one key across processes (server mode; embedded is already exclusive). */
  withLock<T>(key: string, timeoutMs: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenCatalogOptions {
  purpose: string;
  /** Skip applying pending migrations (used by `mdw db migrate --status`). */
  migrate?: boolean;
}

export async function openCatalog(settings: Settings, logger: Logger, options: OpenCatalogOptions): Promise<Catalog> {
  const catalog = settings.databaseUrl
    ? openServer(settings.databaseUrl)
    : await openEmbedded(settings, logger, options.purpose);
  if (options.migrate !== false) {
    try {
      const applied = await migrate(catalog.sql);
      for (const m of applied) logger.info(`catalog: applied migration ${m}`);
    } catch (err) {
      await catalog.close();
      throw err instanceof CatalogError ? err : new CatalogError(`catalog migration failed: ${errorMessage(err)}`, { cause: err });
    }
    try {
      const bound = await bindLake(catalog.sql, homePaths(settings.home).lake);
      if (bound?.moved) logger.info(`catalog: the lake moved from ${bound.moved}; recorded its new place`);
    } catch (err) {
      await catalog.close();
      throw err;
    }
  }
  return catalog;
}

function clientOptions(max: number): postgres.Options<Record<string, never>> {
  return {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    // int8 comes back as a JS number: row counts and byte sizes stay far below 2^53.
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    transform: { undefined: null },
  } as unknown as postgres.Options<Record<string, never>>;
}

function openServer(url: string): Catalog {
  const sql = postgres(url, clientOptions(4)) as unknown as Sql;
  return {
    kind: 'server',
    sql,
    async withLock(key, timeoutMs, fn) {
      // A dedicated connection holds the session-level advisory lock for the duration.
      const reserved = await sql.reserve();
      try {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [row] = await reserved<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as ok`;
          if (row?.ok) break;
          if (Date.now() >= deadline) {
            throw new LockError(`another run holds the catalog lock "${key}"; waited ${Math.round(timeoutMs / 1000)}s`);
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        try {
          return await fn();
        } finally {
          await reserved`select pg_advisory_unlock(hashtext(${key}))`;
        }
      } finally {
        reserved.release();
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

async function openEmbedded(settings: Settings, logger: Logger, purpose: string): Promise<Catalog> {
  const paths = homePaths(settings.home);
  requireWritable(paths.run, paths);
  const lock: FileLock = await acquireFileLock(path.join(paths.run, 'catalog.lock'), {
    timeoutMs: settings.lockTimeoutMs,
    purpose,
    what: `the embedded catalog at ${paths.catalog}`,
  });
  try {
    // PGlite cannot say which file it could not open: it aborts ("Aborted(). Build with
    // -sASSERTIONS") or fails to initialise. Whatever it will need to write is checked first.
    requireWritable(paths.catalog, paths);
    // PGlite is Postgres compiled to WebAssembly. Node 24's V8 compiles a hot module again with
    // its optimizing tier in the background, which for PGlite's 30 MB of code cost ~470 MB of
    // RSS per process (826 MB against 265 MB for `mdw ingest demo`) and made start-up slower.
    // The catalog's queries are small: the baseline compiler serves them. DuckDB is native and
    // unaffected; the flags are set before the module is compiled, which is when V8 reads them.
    v8.setFlagsFromString('--no-wasm-tier-up');
    v8.setFlagsFromString('--no-wasm-dynamic-tiering');
    // Loaded lazily: PGlite is only needed without a server.
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-socket'),
    ]);
    const started = Date.now();
    // Postgres' default 128 MB of shared buffers is most of PGlite's memory; the catalog's
    // working set is a small fraction of that.
    const db = await PGlite.create(paths.catalog, { postgresqlconf: ['shared_buffers = 32MB'] });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await server.start();
    const [host, port] = server.getServerConn().split(':');
    const sql = postgres({
      ...clientOptions(1),
      host: host!,
      port: Number(port),
      user: 'postgres',
      database: 'postgres',
    }) as unknown as Sql;
    logger.debug(`catalog: embedded PGlite opened in ${Date.now() - started} ms`, { dir: paths.catalog });
    return {
      kind: 'embedded',
      sql,
      withLock: (_key, _timeoutMs, fn) => fn(),
      async close() {
        try {
          await sql.end({ timeout: 5 });
          await server.stop();
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    if (err instanceof AccessError) throw err;
    // On a full disk PGlite fails to initialise without saying why.
    if (freeBytes(paths.catalog) < minFreeBytes) throw new DiskFullError(paths.catalog, { cause: err });
    throw new CatalogError(`cannot open the embedded catalog at ${paths.catalog}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * With less free than this on its disk, a catalog that will not open is taken to have failed for
 * want of space: PGlite writes a few pages at start-up, and a hit ENOSPC surfaces only as
 * "PGlite failed to initialize properly" (seen with 4 KB free; it opened with 8 KB).
 */
const minFreeBytes = 2 ** 20;

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

/** Refuses, naming the entry and what to change, a folder of the embedded catalog this process cannot write. */
function requireWritable(dir: string, paths: HomePaths): void {
  const bad = firstUnwritable(dir);
  if (!bad) return;
  if (bad.code === 'EROFS') {
    throw new AccessError(bad.path, `the embedded catalog cannot be opened: ${bad.path} is on a read-only file system; mount it read-write, or copy ${path.dirname(paths.catalog)} to a writable disk and point MDW_HOME at the copy`);
  }
  const me = process.getuid?.() ?? -1;
  const mode = bad.mode.toString(8).padStart(4, '0');
  throw new AccessError(
    bad.path,
    `the embedded catalog cannot be opened: ${bad.path} is not writable by this process (uid ${me}): it is owned by uid ${bad.uid} with mode ${mode}. ` +
      `Give the warehouse back to the user that runs mdw (chown -R ${me} ${path.dirname(paths.catalog)}; chmod -R u+rwX ${path.dirname(paths.catalog)}), or run mdw as its owner`,
  );
}
