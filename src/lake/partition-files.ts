import { readdirSync } from 'node:fs';
import path from 'node:path';
import { dataFileVersion } from './layout.js';

/** The versions among a folder's names, newest first. */
function versionsOf(names: readonly string[]): { readonly name: string; readonly version: number }[] {
  return names
    .map((name) => ({ name, version: dataFileVersion(name) }))
    .filter((v): v is { name: string; version: number } => v.version !== null)
    .sort((a, b) => b.version - a.version);
}

/** The versions of a partition's file in its folder, newest first. */
export function partitionVersions(dir: string): { readonly name: string; readonly version: number }[] {
  try {
    return versionsOf(readdirSync(dir));
  } catch {
    return [];
  }
}

/**
 * The file readers open for a partition: its newest version. A version is renamed into place
 * only when it is complete and durable, so the newest is always whole.
 */
export function currentDataFile(dir: string): { readonly file: string; readonly version: number } | null {
  const [newest] = partitionVersions(dir);
  return newest ? { file: path.join(dir, newest.name), version: newest.version } : null;
}

/** Every partition's current file under a folder (a dataset, a series), sorted. */
export function currentFilesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    const [newest] = versionsOf(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (newest) out.push(path.join(dir, newest.name));
  };
  walk(root);
  return out.sort();
}
