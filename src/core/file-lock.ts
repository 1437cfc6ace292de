import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { processAlive } from './process-alive.js';
import path from 'node:path';
import { DiskFullError, LockError, fullDiskPath } from './errors.js';

/** What a lock says about its holder. */
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

export interface LockOptions {
  timeoutMs: number;
  purpose: string;
  /** Names the locked thing in the message of a LockError. */
  what: string;
  pollMs?: number;
  now?: () => Date;
}

/**
 * An exclusive lock on a path, held for the life of the process or until released. Waits up to
 * timeoutMs, then throws LockError (exit 4) naming the holder.
 *
 * On Linux the lock is a listening socket in the abstract namespace, named after the path: the
 * kernel grants it to one process and frees it when that process dies, however it dies, so a
 * crash never leaves a stale lock behind and two waiters can never both take one over. The
 * file at `lockPath` only says who holds it. Elsewhere the lock is that file, created with
 * O_EXCL, and a file whose holder is a dead process on this host is taken over.
 */
export async function acquireFileLock(lockPath: string, options: LockOptions): Promise<FileLock> {
  try {
    mkdirSync(path.dirname(lockPath), { recursive: true });
  } catch (err) {
    throw asDiskFull(err, path.dirname(lockPath));
  }
  const now = options.now ?? (() => new Date());
  const me: LockHolder = { pid: process.pid, host: os.hostname(), since: now().toISOString(), purpose: options.purpose };
  const deadline = Date.now() + options.timeoutMs;
  const attempt = process.platform === 'linux' ? socketAttempt : fileAttempt;
  for (;;) {
    const lock = await attempt(lockPath, me);
    if (lock) return lock;
    if (Date.now() >= deadline) {
      const holder = readHolder(lockPath);
      const who = holder ? `pid ${holder.pid} on ${holder.host} (${holder.purpose}, since ${holder.since})` : 'another process';
      throw new LockError(
        `${options.what} is in use by ${who}; waited ${Math.round(options.timeoutMs / 1000)}s. ` +
          `Retry when it finishes, or raise --lock-timeout.`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

function socketAttempt(lockPath: string, me: LockHolder): Promise<FileLock | null> {
  const name = `\0mdw-lock-${createHash('sha256').update(path.resolve(lockPath)).digest('hex').slice(0, 40)}`;
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen(name, () => {
      // The lock must not keep the process alive on its own.
      server.unref();
      try {
        writeHolder(lockPath, me);
      } catch (err) {
        // Thrown here, in a listen callback, it was uncaught: a stack trace on a full disk.
        server.close();
        reject(err);
        return;
      }
      resolve(
        heldBy(lockPath, () => {
          server.close();
        }),
      );
    });
  });
}

async function fileAttempt(lockPath: string, me: LockHolder): Promise<FileLock | null> {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(lockPath);
      if (!holder || !isDead(holder)) return null;
      // Rename first so that two waiters cannot both delete one fresh lock.
      const aside = `${lockPath}.stale-${holder.pid}-${process.pid}`;
      try {
        renameSync(lockPath, aside);
        unlinkSync(aside);
      } catch {
        // Someone else took it over first.
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } catch (err) {
      // An empty lock file names no holder that could be found dead: left behind, it would
      // lock every later run out (exit 4) long after the disk had space again.
      closeSync(fd);
      removeQuietly(lockPath);
      throw asDiskFull(err, lockPath);
    }
    closeSync(fd);
    return heldBy(lockPath, () => {});
  }
}

/** Says who holds the lock; the file is information only, so one left half-written is removed. */
function writeHolder(lockPath: string, me: LockHolder): void {
  try {
    writeFileSync(lockPath, JSON.stringify(me));
  } catch (err) {
    removeQuietly(lockPath);
    throw asDiskFull(err, lockPath);
  }
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // The error that matters is the one being thrown.
  }
}

function asDiskFull(err: unknown, where: string): unknown {
  return fullDiskPath(err) === undefined ? err : new DiskFullError(where, { cause: err });
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(lockPath, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function isDead(holder: LockHolder): boolean {
  if (holder.host !== os.hostname() || holder.pid === process.pid) return false;
  return !processAlive(holder.pid);
}

function heldBy(lockPath: string, unlock: () => void): FileLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readHolder(lockPath)?.pid === process.pid) unlinkSync(lockPath);
    } catch {
      // Already gone.
    }
    unlock();
  };
  process.on('exit', release);
  return { path: lockPath, release };
}
