import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshCatalog, lakeContent, lakeHashes, removeDir, runMdw, tempDir, testContext } from '../support/helpers.js';

const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let url: string | undefined;
let drop: () => Promise<void>;

beforeAll(async () => {
  root = tempDir();
  ({ url, drop } = await freshCatalog());
});
afterAll(async () => {
  await drop();
  removeDir(root);
});

const envFor = () => (url ? { MDW_DATABASE_URL: url } : {});

describe(`one writer at a time (${server ? 'Postgres advisory lock' : 'embedded catalog lock'})`, () => {
  test('a second ingest waits --lock-timeout, exits 4 with a clear message, and changes nothing', async () => {
    const home = path.join(root, 'held');
    mkdirSync(home);
    const ctx = testContext({ home, databaseUrl: url });
    const catalog = await ctx.catalog('mdw ingest demo (test holder)');
    let blocked: Awaited<ReturnType<typeof runMdw>>;
    const holding = catalog.withLock('mdw:load:ohlcv:demo:1d', 1000, async () => {
      const started = Date.now();
      blocked = await runMdw(['--home', home, '--lock-timeout', '1', 'ingest', 'demo'], { env: envFor() });
      return Date.now() - started;
    });
    const waited = await holding;
    expect(blocked!.code).toBe(4);
    expect(waited).toBeGreaterThanOrEqual(1000);
    if (server) {
      expect(blocked!.stderr).toMatch(/^mdw: another run holds the catalog lock "mdw:load:ohlcv:demo:1d"; waited 1s$/m);
    } else {
      expect(blocked!.stderr).toMatch(
        new RegExp(`^mdw: the embedded catalog at ${home}/catalog is in use by pid ${process.pid} on ${os.hostname()} \\(mdw ingest demo \\(test holder\\), since .*\\); waited 1s\\. Retry when it finishes, or raise --lock-timeout\\.$`, 'm'),
      );
    }
    expect(lakeHashes(path.join(home, 'lake'))).toEqual({});
    await ctx.close();
    const after = await runMdw(['--home', home, 'ingest', 'demo', '--format', 'json'], { env: envFor() });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)[0]).toMatchObject({ stored: 746, quarantined: 5 });
  });

  test('two ingests started together: one loads, the other loads nothing or is turned away; the lake is the same', async () => {
    const home = path.join(root, 'race');
    mkdirSync(home);
    // A catalog of its own: the one above describes the lake of another home.
    await drop();
    ({ url, drop } = await freshCatalog());
    const [a, b] = await Promise.all([
      runMdw(['--home', home, '--lock-timeout', '0', 'ingest', 'demo', '--format', 'json'], { env: envFor() }),
      runMdw(['--home', home, '--lock-timeout', '0', 'ingest', 'demo', '--format', 'json'], { env: envFor() }),
    ]);
    const codes = [a.code, b.code].sort();
    expect([[0, 0], [0, 4]]).toContainEqual(codes);
    const stored = [a, b].filter((r) => r.code === 0).map((r) => (JSON.parse(r.stdout) as { stored: number }[])[0]!.stored).sort();
    // Whoever ran second found everything stored already.
    expect(stored).toEqual(codes[1] === 4 ? [746] : [0, 746]);
    const reference = await freshCatalog();
    try {
      const home2 = path.join(root, 'reference');
      mkdirSync(home2);
      const single = await runMdw(['--home', home2, 'ingest', 'demo'], { env: reference.url ? { MDW_DATABASE_URL: reference.url } : {} });
      expect(single.code).toBe(0);
      expect(await lakeContent(path.join(home, 'lake'))).toEqual(await lakeContent(path.join(home2, 'lake')));
    } finally {
      await reference.drop();
    }
  });
});
