import { closeSync, cpSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { withSnapshot } from '../catalog/catalog-dump.js';
import type { Sql } from '../catalog/catalog.js';
import type { Context } from '../context.js';
import { MdwError, errorMessage } from '../core/errors.js';
import { mapLimited } from '../core/map-limited.js';
import { processAlive } from '../core/process-alive.js';
import { encodeSegment, isTempName } from '../lake/layout.js';
import { lakeIdFile } from '../lake/lake-id.js';
import { fsyncDir, fsyncFileAsync, hashFile, linkOrCopy } from '../lake/local-store.js';
import { backupFormat, backupName, filesUnder, infoFile, listBackups, sizeOf, tempName, tempOwner, writeDurably, writeSums, type BackupInfo } from './backup-folder.js';

export interface BackupOptions {
  /** The folder that holds the backups. */
  readonly to: string;
  /** How many backups to keep in it, this one included. */
  readonly keep: number;
  /** Also the raw landing (lake/raw): vendor pages, which the lake can be rebuilt from but is not read from. */
  readonly raw: boolean;
}

export interface BackupReport {
  readonly dir: string;
  readonly tables: number;
  readonly catalogRows: number;
  readonly files: number;
  readonly bytes: number;
  /** Files hard-linked (same file system as the warehouse) and copied. */
  readonly linked: number;
  readonly copied: number;
  /** Older backups removed for --keep. */
  readonly removed: readonly string[];
}

/** A file the backup takes: where it goes in the backup, where it may be now, and the sha256 the catalog gives it. */
interface Take {
  readonly to: string;
  /** Places to find its bytes, in order: a write may be renaming it into place meanwhile. */
  readonly from: readonly string[];
  readonly sha256: string | null;
  /** A file of the raw landing that retention may remove meanwhile: skipped when gone. */
  readonly optional?: boolean;
}

/**
 * Takes a consistent backup of the warehouse into a new folder under `options.to`: the catalog's
 * rows from one snapshot first, then exactly the files that snapshot lists (hard links where the
 * backup is on the warehouse's file system, copies elsewhere), each checked against the sha256 the
 * catalog has for it; then the configs and the SHA256SUMS of it all. Written under a temporary
 * name and renamed when complete; then backups beyond `keep` are removed, oldest first.
 */
export async function runBackup(ctx: Context, options: BackupOptions): Promise<BackupReport> {
  const to = path.resolve(options.to);
  const home = path.resolve(ctx.settings.home);
  if (to === home || to.startsWith(home + path.sep)) throw new MdwError('backup', `the backup folder ${to} is inside the warehouse ${home}: put it beside it (a backup of the warehouse in itself grows with every backup)`);
  mkdirSync(to, { recursive: true });
  clearAbandoned(ctx, to);
  const name = freeName(to, backupName(ctx.clock.now()));
  const temp = path.join(to, tempName('backup', name, process.pid));
  mkdirSync(temp);
  try {
    const catalog = await ctx.catalog('mdw backup');
    ctx.progress.step('backup: reading the catalog from one snapshot');
    const { snapshot, rows, takes } = await withSnapshot(catalog.sql, async (snapshot, sql, readRows) => {
      const rows: Record<string, number> = {};
      mkdirSync(path.join(temp, 'catalog'));
      for (const table of snapshot.tables) {
        const fd = openSync(path.join(temp, 'catalog', `${table}.ndjson`), 'w');
        try {
          rows[table] = await readRows(table, async (lines) => {
            writeSync(fd, lines.join('\n') + '\n');
          });
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      return { snapshot, rows, takes: await filesToTake(sql, ctx.paths, options.raw) };
    });
    const lakeIdPath = path.join(ctx.paths.lake, lakeIdFile);
    const all: Take[] = [{ to: `lake/${lakeIdFile}`, from: [lakeIdPath], sha256: null, optional: true }, ...takes];
    ctx.progress.step(`backup: linking or copying ${all.length} files`);
    let linked = 0;
    let copied = 0;
    const placed = await mapLimited(all, 4, async (take) => {
      const target = path.join(temp, ...take.to.split('/'));
      const how = place(take, target);
      if (how === null) return null;
      if (how === 'link') linked++;
      else copied++;
      if ((linked + copied) % 1000 === 0) ctx.progress.step(`backup: ${linked + copied} of ${all.length} files linked or copied, and hashed`);
      const { sha256 } = await hashFile(target);
      if (take.sha256 !== null && sha256 !== take.sha256) {
        throw new MdwError('backup', `${take.from[0]} does not hold what the catalog records (sha256 ${sha256.slice(0, 12)}..., the catalog has ${take.sha256.slice(0, 12)}...): run \`mdw audit --fail-on integrity\`; the backup was not kept`);
      }
      return [take.to, sha256] as const;
    });
    ctx.progress.step('backup: copying the configs');
    cpSync(ctx.settings.configDir, path.join(temp, 'configs'), { recursive: true });
    const info: BackupInfo = {
      format: backupFormat,
      createdAt: ctx.clock.now().toISOString(),
      home,
      configDir: ctx.settings.configDir,
      catalog: { kind: catalog.kind, ...snapshot, rows },
      lakeId: placed[0] ? readFileSync(path.join(temp, 'lake', lakeIdFile), 'utf8').trim() : null,
      raw: options.raw,
    };
    writeDurably(path.join(temp, infoFile), `${JSON.stringify(info, null, 2)}\n`);
    ctx.progress.step('backup: hashing the catalog rows and the configs');
    const sums = new Map<string, string>(placed.filter((p): p is readonly [string, string] => p !== null));
    const rest = filesUnder(temp).filter((f) => !sums.has(f));
    const hashed = await mapLimited(rest, 4, async (f) => {
      // The configs were copied without a sync; the catalog rows and backup.json were synced as written.
      if (f.startsWith('configs/')) await fsyncFileAsync(path.join(temp, f));
      return [f, (await hashFile(path.join(temp, f))).sha256] as const;
    });
    for (const [f, h] of hashed) sums.set(f, h);
    writeSums(temp, sums);
    const files = [...sums.keys()];
    const bytes = sizeOf(temp, files);
    for (const dir of new Set(files.map((f) => path.dirname(path.join(temp, f))))) fsyncDir(dir);
    const dir = path.join(to, name);
    renameSync(temp, dir);
    fsyncDir(to);
    const removed = prune(to, options.keep);
    return {
      dir,
      tables: snapshot.tables.length,
      catalogRows: Object.values(rows).reduce((a, b) => a + b, 0),
      files: files.length + 1,
      bytes,
      linked,
      copied,
      removed,
    };
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The files the snapshot's catalog lists: every partition's current file (a write the snapshot
 * saw recorded may still be under its temporary name, or renamed since), the files retention
 * archived, the quarantine files of its batches, and with `raw` the raw landing.
 */
async function filesToTake(sql: Sql, paths: Context['paths'], raw: boolean): Promise<Take[]> {
  const lake = (uri: string) => path.join(paths.lake, ...uri.split('/'));
  const manifest = await sql<{ uri: string; sha256: string; tmp_uri: string | null }[]>`
    select m.uri, m.sha256, p.tmp_uri from mdw.partition_manifest m
    left join mdw.pending_write p on p.uri = m.uri and p.sha256 = m.sha256
    order by m.uri`;
  const takes: Take[] = manifest.map((m) => ({
    to: `lake/${m.uri}`,
    from: m.tmp_uri ? [lake(m.uri), lake(m.tmp_uri), lake(m.uri)] : [lake(m.uri)],
    sha256: m.sha256,
  }));
  const archived = await sql<{ kept_uri: string; sha256: string }[]>`
    select kept_uri, sha256 from mdw.retired_partition where state = 'archived' order by kept_uri`;
  // kept_uri is relative to MDW_HOME (archive/...).
  for (const a of archived) takes.push({ to: a.kept_uri, from: [path.join(path.dirname(paths.lake), ...a.kept_uri.split('/'))], sha256: a.sha256 });
  const quarantined = await sql<{ quarantine_uri: string; granularity: string }[]>`
    select distinct quarantine_uri, granularity from mdw.batch where quarantine_uri is not null order by quarantine_uri`;
  for (const q of quarantined) {
    const file = path.join(path.dirname(paths.quarantine), ...q.quarantine_uri.split('/'));
    // Until its batch's commit finishes, the file is under its temporary name (load/quarantine.ts).
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${encodeSegment(q.granularity)}.tmp`);
    takes.push({ to: q.quarantine_uri, from: [file, temp, file], sha256: null, optional: true });
  }
  if (raw) {
    // Pages are never rewritten; those retention removes meanwhile are skipped.
    for (const f of filesUnder(paths.lake, 'raw')) {
      if (!isTempName(path.basename(f))) takes.push({ to: `lake/${f}`, from: [lake(f)], sha256: null, optional: true });
    }
  }
  return takes;
}

/** Links or copies the first place of a file that exists; null when an optional file is gone. */
function place(take: Take, target: string): 'link' | 'copy' | null {
  for (const from of take.from) {
    try {
      return linkOrCopy(from, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (take.optional) return null;
  throw new MdwError(
    'backup',
    `${take.from[0]} is listed in the catalog's snapshot but is gone: something removed it while the backup ran (mdw retention, or a file replaced longer ago than MDW_VERSION_GRACE); ` +
      'run the backup again. Nothing was kept of this one',
  );
}

/** A backup name not taken yet in `to` (two backups in one second get -1, -2 ...). */
function freeName(to: string, name: string): string {
  const taken = new Set(readdirSync(to));
  let out = name;
  for (let i = 1; taken.has(out); i++) out = `${name}-${i}`;
  return out;
}

/** Removes the temporary folders of backups and verifies whose process is gone (killed). */
function clearAbandoned(ctx: Context, to: string): void {
  for (const e of readdirSync(to, { withFileTypes: true })) {
    const pid = tempOwner(e.name);
    if (!e.isDirectory() || pid === null || (pid !== process.pid && processAlive(pid))) continue;
    ctx.logger.warn(`backup: removing ${path.join(to, e.name)}, left by a backup or verify that did not finish`);
    try {
      rmSync(path.join(to, e.name), { recursive: true, force: true });
    } catch (err) {
      ctx.logger.warn(`backup: could not remove ${e.name}: ${errorMessage(err)}`);
    }
  }
}

/** Removes the backups beyond the newest `keep`; only folders that are mdw backups. */
function prune(to: string, keep: number): string[] {
  const removed: string[] = [];
  for (const old of listBackups(to).slice(keep)) {
    rmSync(old.dir, { recursive: true, force: true });
    removed.push(old.dir);
  }
  if (removed.length) fsyncDir(to);
  return removed;
}
