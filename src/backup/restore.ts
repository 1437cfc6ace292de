import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { manifestSeries, seriesManifest } from '../catalog/audit-catalog.js';
import { loadSnapshot, requireNoCatalog } from '../catalog/catalog-dump.js';
import { openCatalog } from '../catalog/catalog.js';
import { supersededFiles } from '../catalog/lake-catalog.js';
import type { Context } from '../context.js';
import { UsageError, errorMessage } from '../core/errors.js';
import { mapLimited } from '../core/map-limited.js';
import { checkIntegrity } from '../audit/integrity.js';
import { seriesDir } from '../lake/layout.js';
import { hashFile, linkOrCopy, localStore } from '../lake/local-store.js';
import { filesUnder, infoFile, readSums, sumsFile, type FoundBackup } from './backup-folder.js';

/** Something wrong with a backup or its restore: a file (relative to the backup, or lake/<uri>) and what. */
export interface BackupProblem {
  readonly file: string;
  readonly problem: 'missing' | 'hash_mismatch' | 'unlisted' | 'orphan' | 'rows_mismatch' | 'unreadable' | 'leftover';
  readonly detail: string;
}

export interface RestoreReport {
  readonly backup: string;
  readonly home: string;
  readonly catalog: 'embedded' | 'server';
  readonly catalogRows: number;
  readonly files: number;
  readonly linked: number;
  readonly copied: number;
  /** Series whose files the integrity audit checked. */
  readonly series: number;
  /** Empty when the backup's files match their hashes and the restored warehouse passes the integrity audit. */
  readonly problems: readonly BackupProblem[];
}

/** Each file of a backup against SHA256SUMS: gone, changed, or there and not listed. */
export async function checkBackupFiles(dir: string, sums: ReadonlyMap<string, string>): Promise<BackupProblem[]> {
  const problems: BackupProblem[] = [];
  const checked = await mapLimited([...sums], 4, async ([file, sha]) => {
    const abs = path.join(dir, ...file.split('/'));
    if (!existsSync(abs)) return { file, problem: 'missing', detail: 'listed in SHA256SUMS, not in the backup' } as const;
    const got = await hashFile(abs);
    return got.sha256 === sha ? null : ({ file, problem: 'hash_mismatch', detail: `sha256 ${got.sha256.slice(0, 12)}... (${got.bytes} bytes), SHA256SUMS has ${sha.slice(0, 12)}...` } as const);
  });
  for (const c of checked) if (c) problems.push(c);
  for (const file of filesUnder(dir)) {
    if (file !== sumsFile && !sums.has(file)) problems.push({ file, problem: 'unlisted', detail: 'in the backup but not in SHA256SUMS: added after the backup was taken' });
  }
  return problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * Restores a backup into the empty warehouse of `ctx` (its home, and its catalog: the embedded
 * one in that home, or the server its settings name, which must hold no mdw schema). First every
 * file of the backup is checked against SHA256SUMS, and a backup that fails is not restored.
 * Then the files are placed (hard links on the backup's file system, copies elsewhere), the
 * catalog loaded, and the result audited: copies against their hashes, and each series' files
 * against the restored manifest, by the audit's own integrity check.
 */
export async function restoreBackup(ctx: Context, backup: FoundBackup): Promise<RestoreReport> {
  const home = path.resolve(ctx.settings.home);
  const base = { backup: backup.dir, home, catalog: ctx.settings.databaseUrl ? ('server' as const) : ('embedded' as const) };
  const empty = { ...base, catalogRows: 0, files: 0, linked: 0, copied: 0, series: 0 };
  if (existsSync(home) && readdirSync(home).length > 0) throw new UsageError(`${home} is not empty: restore into a new warehouse folder (it is created), never over one`);
  ctx.progress.step(`restore: checking the files of ${backup.dir} against ${sumsFile}`);
  const sums = readSums(backup.dir);
  const damaged = await checkBackupFiles(backup.dir, sums);
  if (damaged.length > 0) return { ...empty, problems: damaged };

  const created = !existsSync(home);
  // Checked before anything is written: a failed restore removes what it made, so it must be sure the catalog is its own.
  // (An embedded catalog in an empty home is new: only a server's database can hold one already.)
  if (ctx.settings.databaseUrl) {
    const target = await openCatalog(ctx.settings, ctx.logger, { purpose: 'mdw restore', migrate: false });
    try {
      await requireNoCatalog(target.sql);
    } finally {
      await target.close();
    }
  }
  let placed: { files: number; linked: number; copies: string[] };
  try {
    placed = await placeAndLoad(ctx, backup, sums);
  } catch (err) {
    // Nothing half-restored stays: the home was empty and the database had no mdw schema.
    await ctx.close();
    if (created) rmSync(home, { recursive: true, force: true });
    else for (const e of readdirSync(home)) rmSync(path.join(home, e), { recursive: true, force: true });
    if (ctx.settings.databaseUrl) await dropCatalog(ctx);
    throw err;
  }
  const { files, linked, copies } = placed;

  ctx.progress.step('restore: checking the restored files');
  const problems: BackupProblem[] = [];
  for (const c of await mapLimited(copies, 4, async (file) => ({ file, got: await hashFile(path.join(home, ...file.split('/'))) }))) {
    if (c.got.sha256 !== sums.get(c.file)) problems.push({ file: c.file, problem: 'hash_mismatch', detail: `the restored copy has sha256 ${c.got.sha256.slice(0, 12)}..., the backup ${sums.get(c.file)!.slice(0, 12)}...` });
  }
  // Opening it the usual way applies the migrations newer than the backup and binds the lake at its new place.
  const { sql } = await ctx.catalog('mdw restore');
  const series = await manifestSeries(sql);
  const duck = await ctx.duck();
  const lake = localStore(ctx.paths.lake);
  for (const s of series) {
    ctx.progress.step(`restore: auditing ${s.dataset} ${s.source} ${s.granularity}`);
    const manifest = await seriesManifest(sql, s.ids, s.granularity);
    const found = await checkIntegrity(duck, lake, seriesDir(s.dataset, s.source, s.granularity), manifest, await supersededFiles(sql, s.ids, s.granularity));
    for (const p of found.problems) problems.push({ file: `lake/${p.uri}`, problem: p.problem, detail: p.detail });
  }
  const catalogRows = Object.entries(backup.info.catalog.rows).reduce((n, [t, r]) => n + (t === 'schema_migration' ? 0 : r), 0);
  return { ...base, catalogRows, files, linked, copied: copies.length, series: series.length, problems };
}

/** Places the backup's files in the home and loads its catalog into the target database. */
async function placeAndLoad(ctx: Context, backup: FoundBackup, sums: ReadonlyMap<string, string>): Promise<{ files: number; linked: number; copies: string[] }> {
  const home = path.resolve(ctx.settings.home);
  for (const dir of [ctx.paths.lake, ctx.paths.quarantine, ctx.paths.logs, ctx.paths.tmp, ctx.paths.run]) mkdirSync(dir, { recursive: true });
  const data = [...sums.keys()].filter((f) => /^(lake|archive|quarantine|configs)\//.test(f));
  ctx.progress.step(`restore: placing ${data.length} files in ${home}`);
  let linked = 0;
  const copies: string[] = [];
  for (const file of data) {
    const from = path.join(backup.dir, ...file.split('/'));
    const to = path.join(home, ...file.split('/'));
    if (file.startsWith('configs/')) {
      // Configs are the user's to edit: a copy, never a link into the backup.
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(from, to);
      copies.push(file);
    } else if (linkOrCopy(from, to) === 'link') linked++;
    else copies.push(file);
  }

  ctx.progress.step('restore: loading the catalog');
  const snapshot = backup.info.catalog;
  const target = await openCatalog(ctx.settings, ctx.logger, { purpose: 'mdw restore', migrate: false });
  try {
    await loadSnapshot(target.sql, snapshot, (table) => ndjsonBatches(path.join(backup.dir, 'catalog', `${table}.ndjson`), 1000), (table, rows) =>
      ctx.logger.debug(`restore: mdw.${table}: ${rows} rows`),
    );
  } finally {
    await target.close();
  }

  return { files: data.length, linked, copies };
}

/** Removes the mdw schema a failed restore created in a server database (it had none before). */
async function dropCatalog(ctx: Context): Promise<void> {
  try {
    const target = await openCatalog(ctx.settings, ctx.logger, { purpose: 'mdw restore', migrate: false });
    try {
      await target.sql`drop schema if exists mdw cascade`;
    } finally {
      await target.close();
    }
  } catch (err) {
    ctx.logger.warn(`restore: could not remove the half-restored schema mdw from the database: ${errorMessage(err)}; drop it before restoring again`);
  }
}

/** A catalog table's dumped rows, `size` JSON lines at a time. */
async function* ndjsonBatches(file: string, size: number): AsyncGenerator<string[]> {
  if (!existsSync(file)) throw new UsageError(`${file} is missing from the backup (it is listed in ${infoFile})`);
  let batch: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    batch.push(line);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
