import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';

/** sha256 (hex) and size of a file: read whole when small (a stream costs ~1 ms a file), streamed when large. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
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

/** Runs fn over items, at most `width` at a time, keeping the order of results. */
export async function mapLimited<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
