import { mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockError } from './errors.js';

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  purpose: string;
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

/**
 * An exclusive lock held as a file created with O_EXCL. A lock whose holder is a dead process
 * on this host is stale and is taken over. Waits up to timeoutMs, then throws LockError (exit 4).
 */
export async function acquireFileLock(
  lockPath: string,
  options: { timeoutMs: number; purpose: string; what: string; pollMs?: number; now?: () => Date },
): Promise<FileLock> {
  mkdirSync(path.dirname(lockPath), { recursive: true });
  const now = options.now ?? (() => new Date());
  const deadline = Date.now() + options.timeoutMs;
  const me: LockHolder = { pid: process.pid, host: os.hostname(), since: now().toISOString(), purpose: options.purpose };
  for (;;) {
    if (tryCreate(lockPath, me)) return held(lockPath);
    const holder = readHolder(lockPath);
    if (holder && isStale(holder)) {
      takeOverStale(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder
        ? `pid ${holder.pid} on ${holder.host} (${holder.purpose}, since ${holder.since})`
        : 'another process';
      throw new LockError(
        `${options.what} is in use by ${who}; waited ${Math.round(options.timeoutMs / 1000)}s. ` +
          `Retry when it finishes, or raise --lock-timeout.`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

function tryCreate(lockPath: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(me));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8')) as LockHolder;
  } catch {
    // Being written right now, or removed between our open and read.
    return undefined;
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function takeOverStale(lockPath: string, holder: LockHolder): void {
  // Rename first so that two waiters cannot both delete a fresh lock taken in between.
  const aside = `${lockPath}.stale-${holder.pid}-${process.pid}`;
  try {
    renameSync(lockPath, aside);
    unlinkSync(aside);
  } catch {
    // Someone else took it over first; the next loop iteration sees the new holder.
  }
}

function held(lockPath: string): FileLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const holder = readHolder(lockPath);
      if (holder?.pid === process.pid) unlinkSync(lockPath);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return { path: lockPath, release };
}
