import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { freshCatalog, lakeHashes, removeDir, runMdw, tempDir } from '../support/helpers.js';

const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let url: string | undefined;
let drop: () => Promise<void>;
const env = () => (url ? { MDW_DATABASE_URL: url } : {});

beforeAll(async () => {
  root = tempDir();
  ({ url, drop } = await freshCatalog());
});
afterAll(async () => {
  await drop();
  removeDir(root);
});

describe(`a catalog belongs to one lake (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  test("another warehouse's catalog is refused, so its records never make a load skip data this lake lacks", async () => {
    const first = path.join(root, 'first');
    expect((await runMdw(['--home', first, 'init', '--yes'], { env: env() })).code).toBe(0);
    const id = readFileSync(path.join(first, 'lake', '.mdw-lake-id'), 'utf8').trim();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const loaded = await runMdw(['--home', first, 'ingest', 'demo', '--format', 'json'], { env: env() });
    expect(JSON.parse(loaded.stdout)[0]).toMatchObject({ stored: 746 });

    // A second warehouse whose catalog is the first one's: the same server database, or a
    // copy of the embedded catalog folder.
    const second = path.join(root, 'second');
    mkdirSync(path.join(second, 'lake'), { recursive: true });
    if (!server) cpSync(path.join(first, 'catalog'), path.join(second, 'catalog'), { recursive: true });
    const refused = await runMdw(['--home', second, 'ingest', 'demo'], { env: env() });
    expect(refused.code).toBe(2);
    const secondId = readFileSync(path.join(second, 'lake', '.mdw-lake-id'), 'utf8').trim();
    expect(secondId).not.toBe(id);
    expect(refused.stderr).toBe(
      `mdw: this catalog describes another lake (id ${id}, last seen at ${path.join(first, 'lake')}), not the one at ${path.join(second, 'lake')} (id ${secondId}). ` +
        `Point MDW_DATABASE_URL (or MDW_HOME) at this warehouse's own catalog. If this lake is a copy or restore of that one, put ${id} in ${path.join(second, 'lake', '.mdw-lake-id')}.\n`,
    );
    expect(lakeHashes(path.join(second, 'lake'))).toEqual({});
    expect(readdirSync(path.join(second, 'lake'))).toEqual(['.mdw-lake-id']);
  });

  test('a warehouse moved to another folder keeps its catalog, which records the new place', async () => {
    const before = path.join(root, 'first');
    const after = path.join(root, 'moved');
    renameSync(before, after);
    const r = await runMdw(['--home', after, '-v', 'ingest', 'demo', '--format', 'json'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`catalog: the lake moved from ${path.join(before, 'lake')}; recorded its new place`);
    // Nothing changed in the inputs, so nothing is read again.
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ inputs_skipped: 3, stored: 0 });
  });
});
