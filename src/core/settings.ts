import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.js';

/**
 * Where this package lives (the nearest folder above this file with a package.json): its
 * shipped configs, schemas and migrations are found from here, from src/ and from dist/src/.
 */
export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export interface Settings {
  /** MDW_HOME: lake, embedded catalog, quarantine, logs. */
  readonly home: string;
  /** Folder holding jobs/, transforms/, datasets.yml. */
  readonly configDir: string;
  /** Postgres server URL; undefined means the embedded catalog under home/catalog. */
  readonly databaseUrl: string | undefined;
  /** How long to wait for a lock held by another run. */
  readonly lockTimeoutMs: number;
  /** DuckDB working-memory cap; beyond it DuckDB spills to home/tmp. */
  readonly duckdbMemoryLimit: string;
  readonly duckdbThreads: number;
  /** Inputs are loaded in chunks of about this many bytes, so memory stays bounded. */
  readonly chunkBytes: number;
  /** How long a partition version another replaced stays for queries that opened it. */
  readonly versionGraceMs: number;
  readonly logLevel: string;
}

export interface SettingsInput {
  home?: string | undefined;
  configDir?: string | undefined;
  databaseUrl?: string | undefined;
  lockTimeoutSeconds?: number | undefined;
  logLevel?: string | undefined;
}

/**
 * The one place that decides settings precedence: explicit options, then environment, then
 * defaults. Everything downstream reads the frozen result, never process.env.
 */
export function resolveSettings(
  input: SettingsInput,
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Settings {
  const home = path.resolve(cwd, input.home ?? env.MDW_HOME ?? 'warehouse');
  const localConfigs = path.join(cwd, 'configs');
  const configDir = path.resolve(
    cwd,
    input.configDir ?? env.MDW_CONFIG_DIR ?? (existsSync(localConfigs) ? localConfigs : path.join(packageRoot, 'configs')),
  );
  const lockSeconds = input.lockTimeoutSeconds ?? numberFrom(env, 'MDW_LOCK_TIMEOUT') ?? 10;
  return Object.freeze({
    home,
    configDir,
    databaseUrl: emptyToUndefined(input.databaseUrl ?? env.MDW_DATABASE_URL),
    lockTimeoutMs: Math.max(0, lockSeconds) * 1000,
    duckdbMemoryLimit: env.MDW_DUCKDB_MEMORY ?? '1GB',
    duckdbThreads: numberFrom(env, 'MDW_THREADS', 1) ?? Math.max(1, os.availableParallelism()),
    // 48 MB of input is ~0.7M CSV bars or ~0.5M JSON bars: a 10M-bar load peaks near 0.6 GB
    // (CSV) and 0.8 GB (JSON) of RSS; larger chunks gain no speed on 2 cores (make bench).
    chunkBytes: (numberFrom(env, 'MDW_CHUNK_MB', 1) ?? 48) * 2 ** 20,
    // Longer than any query over the lake runs; each later load removes what outlived it.
    versionGraceMs: (numberFrom(env, 'MDW_VERSION_GRACE') ?? 600) * 1000,
    logLevel: input.logLevel ?? env.MDW_LOG_LEVEL ?? 'info',
  });
}

/** The folders inside MDW_HOME. */
export function homePaths(home: string) {
  return {
    lake: path.join(home, 'lake'),
    catalog: path.join(home, 'catalog'),
    quarantine: path.join(home, 'quarantine'),
    logs: path.join(home, 'logs'),
    tmp: path.join(home, 'tmp'),
    run: path.join(home, 'run'),
    /** Files mdw retention deleted, kept until --purge-after. */
    trash: path.join(home, 'trash'),
    /** Files mdw retention archived: out of the lake, listed in the catalog. */
    archive: path.join(home, 'archive'),
  } as const;
}
export type HomePaths = ReturnType<typeof homePaths>;

/** A number from the environment; a value that is not one (or is below `min`) is a usage error. */
function numberFrom(env: NodeJS.ProcessEnv, name: string, min = 0): number | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${name}=${value} is not a number of at least ${min}`);
  return n;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
