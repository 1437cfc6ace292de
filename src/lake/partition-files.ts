import { dataFileVersion } from './layout.js';
import { localStore } from './local-store.js';
import { childUri, type LakeStore } from './store.js';

/** The versions among a folder's names, newest first. */
function versionsOf(names: readonly string[]): { readonly name: string; readonly version: number }[] {
  return names
    .map((name) => ({ name, version: dataFileVersion(name) }))
    .filter((v): v is { name: string; version: number } => v.version !== null)
    .sort((a, b) => b.version - a.version);
}

/** The versions of a partition's file in its folder, newest first. */
export function partitionVersions(store: LakeStore, dir: string): { readonly name: string; readonly version: number }[] {
  return versionsOf(store.list(dir).map((e) => e.name));
}

/**
 * The file readers open for a partition (a folder uri): its newest version. A version is
 * renamed into place only when it is complete and durable, so the newest is always whole.
 */
export function currentDataFile(store: LakeStore, dir: string): { readonly uri: string; readonly version: number } | null {
  const [newest] = partitionVersions(store, dir);
  return newest ? { uri: childUri(dir, newest.name), version: newest.version } : null;
}

/** Every partition's current file under a folder uri (a dataset, a series), sorted. */
export function currentObjectsUnder(store: LakeStore, root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = store.list(dir);
    for (const e of entries) if (e.folder) walk(childUri(dir, e.name));
    const [newest] = versionsOf(entries.filter((e) => !e.folder).map((e) => e.name));
    if (newest) out.push(childUri(dir, newest.name));
  };
  walk(root);
  return out.sort();
}

/** Every partition's current file under a folder of the local disk, as paths, sorted. */
export function currentFilesUnder(dir: string): string[] {
  const store = localStore(dir);
  return currentObjectsUnder(store, '').map(store.locate);
}
