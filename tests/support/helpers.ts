import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { fixedClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { resolveSettings } from '../../src/core/settings.js';
import { createContext, type Context } from '../../src/context.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import type { Catalog } from '../../src/catalog/catalog.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const configDir = path.join(repoRoot, 'configs');

export function tempDir(prefix = 'mdw-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A catalog for one test file: a fresh database on the server named by MDW_TEST_DATABASE_URL,
 * or (without it) the embedded catalog of the test's MDW_HOME. `url` is undefined for embedded.
 */
export async function freshCatalog(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const admin = process.env.MDW_TEST_DATABASE_URL;
  if (!admin) return { url: undefined, drop: async () => {} };
  const name = `mdw_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  await sql.unsafe(`create database ${name}`);
  await sql.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const s = postgres(admin, { max: 1, onnotice: () => {} });
      await s.unsafe(`drop database if exists ${name} with (force)`);
      await s.end();
    },
  };
}

export function testContext(options: { home: string; databaseUrl?: string | undefined; configDir?: string; now?: string; env?: NodeJS.ProcessEnv }): Context {
  const env = { ...process.env, ...options.env };
  delete env.MDW_DATABASE_URL;
  if (options.databaseUrl) env.MDW_DATABASE_URL = options.databaseUrl;
  const settings = resolveSettings({ home: options.home, configDir: options.configDir ?? configDir, databaseUrl: options.databaseUrl }, env);
  const clock = fixedClock(options.now ?? '2026-11-22T12:00:00Z');
  const logger = createLogger({ level: 'error', color: false, today: clock.now() });
  return createContext({ settings, env, logger, clock, purpose: 'test' });
}

/**
 * A test file's warehouse: a private copy of configs/, a fresh catalog (embedded, or a database
 * of its own on the server) and a context with its home under `root`. `close` removes it all.
 */
export async function openWarehouse(prefix = 'mdw-test-'): Promise<{ root: string; configs: string; ctx: Context; catalog: Catalog; close(): Promise<void> }> {
  const root = tempDir(prefix);
  const configs = copyConfigs(root);
  const target = await freshCatalog();
  const ctx = testContext({ home: path.join(root, 'home'), databaseUrl: target.url, configDir: configs });
  const catalog = await ctx.catalog();
  return {
    root,
    configs,
    ctx,
    catalog,
    async close() {
      await ctx.close();
      await target.drop();
      removeDir(root);
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs bin/mdw as a user would, in its own process; `user` runs it as another uid and gid (needs root). */
export function runMdw(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; user?: { uid: number; gid: number } } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', ...options.env };
  if (!options.env || !('MDW_DATABASE_URL' in options.env)) delete env.MDW_DATABASE_URL;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    // libuv drops the supplementary groups when it changes the uid, so root's groups do not follow.
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), ...args], { cwd: options.cwd ?? repoRoot, env, ...options.user });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/**
 * sha256 of the file readers open for each partition under a folder (its current version), by
 * the partition's folder relative to it: equal when the data readers see is byte for byte the
 * same, whatever the version numbers.
 */
export function lakeHashes(lake: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of currentFilesUnder(lake)) out[path.relative(lake, path.dirname(file))] = createHash('sha256').update(readFileSync(file)).digest('hex');
  return out;
}

/**
 * The rows each partition's current file holds under a lake, by partition folder, without
 * batch_id (which differs between two warehouses loading the same data): equal when two lakes
 * hold the same data.
 */
export async function lakeContent(lake: string): Promise<Record<string, string>> {
  const { DuckSession } = await import('../../src/lake/duckdb.js');
  const duck = await DuckSession.open({ threads: 1 });
  try {
    const out: Record<string, string> = {};
    for (const file of currentFilesUnder(lake)) {
      const rows = await duck.all(`SELECT * EXCLUDE (batch_id) FROM read_parquet('${file}')`);
      out[path.relative(lake, path.dirname(file))] = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    }
    return out;
  } finally {
    duck.close();
  }
}

/** A DuckDB list of the current file of every partition under a folder, for read_parquet (a glob would read superseded versions too). */
export function currentFiles(dir: string): string {
  return `[${currentFilesUnder(dir).map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}]`;
}

/** A private copy of configs/ (and fixtures/, which its jobs name relatively) that a test may change. */
export function copyConfigs(to: string): string {
  const dir = path.join(to, 'configs');
  cpSync(configDir, dir, { recursive: true });
  cpSync(path.join(repoRoot, 'fixtures'), path.join(to, 'fixtures'), { recursive: true });
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
