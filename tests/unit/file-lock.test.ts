import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireFileLock } from '../../src/core/file-lock.js';
import { LockError } from '../../src/core/errors.js';
import { removeDir, repoRoot, runMdw, tempDir } from '../support/helpers.js';

let root: string;
beforeAll(() => {
  root = tempDir();
});
afterAll(() => removeDir(root));

describe('file lock', () => {
  test('is exclusive, names its holder when it times out, and is free again once released', async () => {
    const file = path.join(root, 'a', 'x.lock');
    const first = await acquireFileLock(file, { timeoutMs: 0, purpose: 'first', what: 'the thing' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, purpose: 'first' });
    // The same process asking again is not mistaken for a stale holder.
    const started = Date.now();
    const err = await acquireFileLock(file, { timeoutMs: 300, purpose: 'second', what: 'the thing', pollMs: 20 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).exitCode).toBe(4);
    expect((err as LockError).message).toMatch(new RegExp(`^the thing is in use by pid ${process.pid} on ${os.hostname()} \\(first, since `));
    first.release();
    expect(existsSync(file)).toBe(false);
    const second = await acquireFileLock(file, { timeoutMs: 0, purpose: 'second', what: 'the thing' });
    second.release();
  });

  test('a holder killed with SIGKILL leaves no lock behind', async () => {
    const file = path.join(root, 'k', 'x.lock');
    const script = `import(${JSON.stringify(path.join(repoRoot, 'dist/src/core/file-lock.js'))}).then(async (m) => {
      await m.acquireFileLock(${JSON.stringify(file)}, { timeoutMs: 0, purpose: 'doomed', what: 'x' });
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
    await expect(acquireFileLock(file, { timeoutMs: 0, purpose: 'me', what: 'x' })).rejects.toThrow(/in use by pid \d+ .*\(doomed, since/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const lock = await acquireFileLock(file, { timeoutMs: 2000, purpose: 'me', what: 'x' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, purpose: 'me' });
    lock.release();
  });

  test('a lock whose holder died is taken over, by the library and by mdw ingest', async () => {
    const file = path.join(root, 'b', 'x.lock');
    mkdirSync(path.dirname(file), { recursive: true });
    const dead = { pid: 2 ** 22 + 12345, host: os.hostname(), since: '2026-01-01T00:00:00Z', purpose: 'crashed' };
    writeFileSync(file, JSON.stringify(dead));
    const lock = await acquireFileLock(file, { timeoutMs: 0, purpose: 'new', what: 'x' });
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();

    const home = path.join(root, 'home');
    mkdirSync(path.join(home, 'run'), { recursive: true });
    writeFileSync(path.join(home, 'run', 'catalog.lock'), JSON.stringify(dead));
    const r = await runMdw(['--home', home, '--lock-timeout', '0', 'ingest', 'demo-minute', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ stored: 1560 });
    expect(existsSync(path.join(home, 'run', 'catalog.lock'))).toBe(false);
  });
});
