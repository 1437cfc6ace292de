import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MdwError, UsageError } from '../core/errors.js';
import type { CatalogSnapshot } from '../catalog/catalog-dump.js';

/**
 * What a backup folder holds, and how mdw knows one:
 *
 *   <to>/mdw-backup-20261205T120000Z/
 *     backup.json        what was backed up: when, from which catalog kind, the migrations, the tables
 *     SHA256SUMS         sha256 of every other file (`sha256sum -c SHA256SUMS` checks it too)
 *     catalog/<t>.ndjson one JSON row a line per catalog table, from one snapshot
 *     lake/              the partition files that snapshot's manifest lists (and raw/ with --raw)
 *     archive/           the files retention archived
 *     quarantine/        the quarantine files of the snapshot's batches
 *     configs/           the config folder
 *
 * A backup is written under `.mdw-backup-<stamp>.<pid>.tmp` and renamed when complete, so only a
 * finished backup has the name.
 */
export const infoFile = 'backup.json';
export const sumsFile = 'SHA256SUMS';
export const backupFormat = 'mdw-backup/1';

export interface BackupInfo {
  readonly format: typeof backupFormat;
  readonly createdAt: string;
  readonly home: string;
  readonly configDir: string;
  readonly catalog: CatalogSnapshot & { readonly kind: 'embedded' | 'server'; readonly rows: Readonly<Record<string, number>> };
  readonly lakeId: string | null;
  readonly raw: boolean;
}

const namePattern = /^mdw-backup-\d{8}T\d{6}Z(-\d+)?$/;
const tempPattern = /^\.mdw-(backup|verify)-.*\.(\d+)\.tmp$/;

/** The folder name of a backup taken at `at`: sorts by time. */
export function backupName(at: Date): string {
  return `mdw-backup-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`;
}

/** The temporary name a backup (or a verify's home) is written under, with the pid that writes it. */
export function tempName(kind: 'backup' | 'verify', name: string, pid: number): string {
  return `.mdw-${kind}-${name}.${pid}.tmp`;
}

/** The pid a temporary folder of ours names, or null when the name is not one. */
export function tempOwner(name: string): number | null {
  const m = tempPattern.exec(name);
  return m ? Number(m[2]) : null;
}

export interface FoundBackup {
  readonly name: string;
  readonly dir: string;
  readonly info: BackupInfo;
}

/** The mdw backups in a folder, newest first: folders with a backup's name and a backup.json of ours; nothing else counts. */
export function listBackups(dir: string): FoundBackup[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && namePattern.test(e.name)).map((e) => e.name);
  } catch {
    return [];
  }
  const out: FoundBackup[] = [];
  for (const name of names) {
    const info = tryInfo(path.join(dir, name));
    if (info) out.push({ name, dir: path.join(dir, name), info });
  }
  return out.sort((a, b) => b.info.createdAt.localeCompare(a.info.createdAt) || b.name.localeCompare(a.name));
}

/** A backup given on the command line: the folder itself, or the newest backup in a folder of backups. */
export function resolveBackup(dir: string): FoundBackup {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new UsageError(`no backup at ${abs}`);
  const info = tryInfo(abs);
  if (info) return { name: path.basename(abs), dir: abs, info };
  if (existsSync(path.join(abs, infoFile))) throw new MdwError('backup', `${path.join(abs, infoFile)} is not an mdw backup's description (damaged?)`);
  const [newest] = listBackups(abs);
  if (!newest) throw new UsageError(`${abs} is neither an mdw backup nor a folder holding one (mdw-backup-<time>/ with backup.json)`);
  return newest;
}

function tryInfo(dir: string): BackupInfo | null {
  try {
    const info = JSON.parse(readFileSync(path.join(dir, infoFile), 'utf8')) as BackupInfo;
    return info.format === backupFormat ? info : null;
  } catch {
    return null;
  }
}

/** sha256 by file, relative to the backup with / separators, as `sha256sum` writes them. */
export function writeSums(dir: string, sums: ReadonlyMap<string, string>): void {
  const lines = [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([file, sha]) => `${sha}  ${file}`);
  writeDurably(path.join(dir, sumsFile), `${lines.join('\n')}\n`);
}

export function readSums(dir: string): Map<string, string> {
  const file = path.join(dir, sumsFile);
  if (!existsSync(file)) throw new MdwError('backup', `${file} is missing: without it no file of the backup can be checked`);
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new MdwError('backup', `${file} has a line that is not "<sha256>  <file>": ${line.slice(0, 80)}`);
    out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Every file under a folder, relative to it with / separators. */
export function filesUnder(root: string, dir = ''): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = dir === '' ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...filesUnder(root, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

export function writeDurably(file: string, text: string): void {
  writeFileSync(file, text);
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Bytes of the files of a backup (links counted whole). */
export function sizeOf(dir: string, files: readonly string[]): number {
  return files.reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}
