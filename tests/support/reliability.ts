import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Context } from '../../src/context.js';
import { copyConfigs, freshCatalog, removeDir, repoRoot, tempDir, testContext } from './helpers.js';

/**
 * The reliability suite runs a sample in `make test` and everything in `make reliability`
 * (MDW_RELIABILITY=full): the same tests, with fewer kill points and fuzz cases in the sample,
 * so that make test stays within its time on a loaded machine.
 */
export const fullReliability = process.env.MDW_RELIABILITY === 'full';

/** How many cases to run: `sample` in make test, `full` in make reliability. */
export function cases(sample: number, full: number): number {
  return fullReliability ? full : sample;
}

/** A deterministic pseudo-random sequence (mulberry32), so a failing case can be run again. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A run that did not end within its limit. */
export class Hang extends Error {}

/** `work`, or a Hang after `ms`: a generous bound on something that must end, not a timing. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Hang(`${what}: still running after ${ms / 1000} s`)), ms)));
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/**
 * Where a fuzz corpus runs: a folder with its own copy of configs/, a context on a fresh catalog
 * for the library runs, and a home on another fresh catalog for the runs through bin/mdw.
 */
export interface FuzzBench {
  readonly root: string;
  readonly configs: string;
  readonly ctx: Context;
  readonly cli: { readonly home: string; readonly url: string | undefined };
  close(): Promise<void>;
}

export async function fuzzBench(prefix: string): Promise<FuzzBench> {
  const root = tempDir(prefix);
  const configs = copyConfigs(root);
  const target = await freshCatalog();
  const ctx = testContext({ home: path.join(root, 'home'), databaseUrl: target.url, configDir: configs });
  const cliCatalog = await freshCatalog();
  return {
    root,
    configs,
    ctx,
    cli: { home: path.join(root, 'cli-home'), url: cliCatalog.url },
    async close() {
      await ctx.close();
      await target.drop();
      await cliCatalog.drop();
      removeDir(root);
    },
  };
}

/**
 * Runs bin/mdw with `args` and kills it (SIGKILL) after `ms`; resolves when it is gone. `env` is
 * the home's: without a MDW_DATABASE_URL of its own the run uses the embedded catalog.
 */
export function mdwKilledAfter(args: readonly string[], env: NodeJS.ProcessEnv, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const full: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', ...env };
    if (!env.MDW_DATABASE_URL) delete full.MDW_DATABASE_URL;
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), ...args], { env: full, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
