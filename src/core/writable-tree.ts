import { accessSync, constants, lstatSync, readdirSync } from 'node:fs';
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
  const pending = [dir];
  while (pending.length > 0) {
    const entry = pending.pop()!;
    let stat;
    try {
      stat = lstatSync(entry);
    } catch {
      // Gone since it was listed (or never there): nothing to write.
      continue;
    }
    if (stat.isSymbolicLink()) continue;
    const folder = stat.isDirectory();
    try {
      accessSync(entry, constants.R_OK | constants.W_OK | (folder ? constants.X_OK : 0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EACCES';
      if (code === 'ENOENT') continue;
      return { path: entry, code, uid: stat.uid, mode: stat.mode & 0o7777 };
    }
    if (folder) for (const name of readdirSync(entry)) pending.push(path.join(entry, name));
  }
  return undefined;
}
