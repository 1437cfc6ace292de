import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** An entry this process cannot use as it needs to, and the error access(2) gave. */
export interface Unwritable {
  readonly path: string;
  /** EACCES, EPERM or EROFS. */
  readonly code: string;
  /** The entry's owner and permission bits, to say what to change. */
  readonly uid: number;
  readonly mode: number;
}

/**
 * The first entry under `dir` (itself included) that this process cannot read and write (and, for
 * a folder, enter), or undefined when all can be, or `dir` does not exist. access(2) asks the
 * kernel, so a read-only mount counts, and so does root's exemption from permission bits.
 */
export function firstUnwritable(dir: string): Unwritable | undefined {
  // A stat only for the entry that fails: the walk is two syscalls a folder and one a file
  // (~1,100 entries in a catalog).
  const pending: { path: string; folder: boolean }[] = [{ path: dir, folder: true }];
  while (pending.length > 0) {
    const entry = pending.pop()!;
    try {
      accessSync(entry.path, constants.R_OK | constants.W_OK | (entry.folder ? constants.X_OK : 0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EACCES';
      // Gone since it was listed, or never there: nothing to write.
      if (code === 'ENOENT') continue;
      let stat;
      try {
        stat = statSync(entry.path);
      } catch {
        continue;
      }
      return { path: entry.path, code, uid: stat.uid, mode: stat.mode & 0o7777 };
    }
    if (!entry.folder) continue;
    let names;
    try {
      names = readdirSync(entry.path, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of names) if (!d.isSymbolicLink()) pending.push({ path: path.join(entry.path, d.name), folder: d.isDirectory() });
  }
  return undefined;
}
