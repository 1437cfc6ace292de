import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { mapLimited } from '../core/map-limited.js';
import { baseName, childUri, parentUri, type LakeStore, type StoreEntry, type StoreStat, type StoredObject } from './store.js';

/**
 * The lake on a local disk: objects are files under `root`, a commit is a rename followed by an
 * fsync of the folder that holds the new name, and folders are made durable in their parents
 * when created. Also serves the quarantine, which keeps its files by the same protocol.
 */
export function localStore(root: string): LakeStore {
  const locate = (uri: string) => (uri === '' ? root : path.join(root, ...uri.split('/')));
  const tempOf = (uri: string, tag: string) => childUri(parentUri(uri), `.${baseName(uri)}.${tag}.tmp`);
  return {
    locate,
    uriOf: (location) => path.relative(root, location).split(path.sep).join('/'),
    list(dir) {
      try {
        return readdirSync(locate(dir), { withFileTypes: true }).map((e): StoreEntry => ({ name: e.name, folder: e.isDirectory() }));
      } catch {
        return [];
      }
    },
    stat(uri): StoreStat | null {
      const st = statSync(locate(uri), { bigint: true, throwIfNoEntry: false });
      return st ? { bytes: Number(st.size), version: `${st.size}:${st.mtimeNs}:${st.ino}` } : null;
    },
    read: (uri) => readFileSync(locate(uri)),
    hash: (uri) => hashFile(locate(uri)),
    prepare: (dir) => mkdirDurably(locate(dir)),
    tempOf,
    writeTemp(uri, tag, data) {
      const temp = tempOf(uri, tag);
      writeFileSync(locate(temp), data);
      return temp;
    },
    async seal(uris) {
      const sealed = await mapLimited(uris, 8, async (uri): Promise<StoredObject> => {
        await fsyncFileAsync(locate(uri));
        return hashFile(locate(uri));
      });
      for (const dir of new Set(uris.map(parentUri))) fsyncDir(locate(dir));
      return sealed;
    },
    commit: (tempUri, uri) => renameDurably(locate(tempUri), locate(uri)),
    commitNew(tempUri, uri) {
      // A hard link fails when the name exists, where a rename would replace it.
      try {
        linkSync(locate(tempUri), locate(uri));
        fsyncDir(path.dirname(locate(uri)));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        return false;
      } finally {
        rmSync(locate(tempUri), { force: true });
      }
    },
    keep(from, to) {
      linkOrCopy(locate(from), locate(to));
    },
    remove(uris) {
      for (const uri of uris) rmSync(locate(uri), { recursive: true, force: true });
      for (const dir of new Set(uris.map(parentUri))) fsyncDir(locate(dir));
    },
  };
}

/**
 * Makes `target` hold the bytes of `source` as well, durably: a hard link (no bytes copied, the
 * same inode) where both are on one file system, else a copy, fsynced. Whatever was at `target`
 * is replaced. Lake files are never changed in place, so a link is as safe as a copy.
 */
export function linkOrCopy(source: string, target: string): 'link' | 'copy' {
  mkdirDurably(path.dirname(target));
  rmSync(target, { force: true });
  let made: 'link' | 'copy' = 'link';
  try {
    linkSync(source, target);
  } catch (err) {
    // Another file system (a trash, an archive or a backup mounted elsewhere): a copy.
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(source, target);
    const fd = openSync(target, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    made = 'copy';
  }
  fsyncDir(path.dirname(target));
  return made;
}

/** sha256 (hex) and size of a file: read whole when small (a stream costs ~1 ms a file), streamed when large. */
export async function hashFile(file: string): Promise<StoredObject> {
  const bytes = statSync(file).size;
  const hash = createHash('sha256');
  if (bytes <= 64 * 2 ** 20) hash.update(await readFile(file));
  else for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes };
}

/** Makes a rename durable: fsync the folder that holds the new name. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Atomically puts `tmp` in place of `target` and makes it durable. */
export function renameDurably(tmp: string, target: string): void {
  renameSync(tmp, target);
  fsyncDir(path.dirname(target));
}

/**
 * Creates a folder (and its parents) so that it survives a power loss: every folder created
 * is made durable in its parent.
 */
export function mkdirDurably(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (!first) return;
  for (let d = dir; ; d = path.dirname(d)) {
    fsyncDir(path.dirname(d));
    if (d === first || path.dirname(d) === d) break;
  }
}

/** fsync through the thread pool, so that many files sync at once. */
export async function fsyncFileAsync(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
