import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calendars } from '../../src/calendar/registry.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, runMdw, tempDir, type CliResult } from '../support/helpers.js';

/**
 * mdw backup, restore and backup verify, through the CLI as an operator runs them, on the
 * warehouse's catalog (embedded, or a database of its own on the server when
 * MDW_TEST_DATABASE_URL is set): the demo job, then a quarter of minute bars of two symbols
 * loaded while a backup runs.
 */
const symbols = ['ACME', 'GLOBEX'];
const sessions = calendars.XNYS.sessions('2024-01-01', '2024-03-31');
const minuteRows = symbols.length * sessions.length * 390;

let root: string;
let configs: string;
let home: string;
let backups: string;
let url: string | undefined;
let drop: () => Promise<void>;
const extraDrops: (() => Promise<void>)[] = [];

/** mdw with the test's home, configs and catalog. */
const mdw = (...args: string[]) => runMdw(['--home', home, '--config-dir', configs, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });
/** mdw on another warehouse (a restored one), with its own catalog. */
const mdwAt = (at: string, databaseUrl: string | undefined, ...args: string[]) =>
  runMdw(['--home', at, '--config-dir', configs, ...args], { env: databaseUrl ? { MDW_DATABASE_URL: databaseUrl } : {} });

const ok = (r: CliResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
};

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const backupDirs = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('mdw-backup-')).sort();

const tempDirIn = (parent: string) => mkdtempSync(path.join(parent, 'mdw-backup-test-'));

function newestBackup(dir: string): string {
  const names = backupDirs(dir);
  return path.join(dir, names[names.length - 1]!);
}

/** Every minute of every session of Q1 2024 for the symbols, and a job that loads it. */
function writeMinuteJob(name: string): void {
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const sym of symbols) {
    sessions.forEach((s, d) => {
      for (let i = 0; i < 390; i++) {
        const minutes = 9 * 60 + 30 + i;
        const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        const o = 10000 + d * 10 + (i % 13);
        const c = o + ((i % 3) - 1);
        lines.push(`${sym.toLowerCase()};${s.date.replaceAll('-', '/')};${time};${o};${Math.max(o, c) + 2};${Math.min(o, c) - 2};${c};${1000 + ((i * 7 + d) % 50)}`);
      }
    });
  }
  writeFileSync(path.join(dir, 'minutes.csv'), lines.join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${dir}/minutes.csv'] }\ntransform: custom-minute\n`,
  );
}

/** Rows of a source's current partition files under a lake. */
function sourceFiles(lake: string, source: string): string[] {
  return currentFilesUnder(path.join(lake, 'ohlcv', `source=${source}`));
}

beforeAll(async () => {
  root = tempDir('mdw-backup-');
  configs = copyConfigs(root);
  home = path.join(root, 'home');
  backups = path.join(root, 'backups');
  ({ url, drop } = await freshCatalog());
  ok(await mdw('init', '-y'));
  ok(await mdw('ingest', 'demo'));
  writeMinuteJob('minutes');
});

afterAll(async () => {
  for (const d of extraDrops) await d();
  await drop();
  removeDir(root);
});

describe('mdw backup', () => {
  test('a backup on the warehouse\'s file system hard-links the lake files, lists every file\'s sha256, and restores to the same data with a clean integrity audit', async () => {
    const r = ok(await mdw('backup', '--to', backups, '--format', 'json'));
    const [report] = JSON.parse(r.stdout) as { backup: string; linked: number; copied: number; files: number }[];
    const dir = report!.backup;
    expect(path.dirname(dir)).toBe(backups);
    expect(path.basename(dir)).toMatch(/^mdw-backup-\d{8}T\d{6}Z$/);
    // The demo's one partition and its quarantine file, and the lake's id.
    expect(report!.linked).toBe(3);
    expect(report!.copied).toBe(0);

    const lakeFile = sourceFiles(path.join(home, 'lake'), 'demo')[0]!;
    const inBackup = path.join(dir, 'lake', path.relative(path.join(home, 'lake'), lakeFile));
    expect(statSync(inBackup).ino).toBe(statSync(lakeFile).ino);
    expect(statSync(lakeFile).nlink).toBe(2);

    // On another file system (tmpfs, where there is one): copies, and the lake's files keep their one link.
    const elsewhere = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(root).dev ? tempDirIn('/dev/shm') : null;
    if (elsewhere) {
      try {
        const c = JSON.parse(ok(await mdw('backup', '--to', elsewhere, '--format', 'json')).stdout) as { linked: number; copied: number }[];
        expect([c[0]!.linked, c[0]!.copied]).toEqual([0, 3]);
        const copy = path.join(newestBackup(elsewhere), 'lake', path.relative(path.join(home, 'lake'), lakeFile));
        expect(statSync(copy).ino).not.toBe(statSync(lakeFile).ino);
        expect(sha(copy)).toBe(sha(lakeFile));
        expect(statSync(lakeFile).nlink).toBe(2);
      } finally {
        removeDir(elsewhere);
      }
    }

    const sums = new Map(
      readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(66), l.slice(0, 64)] as const),
    );
    expect(sums.size).toBe(report!.files - 1);
    for (const [file, h] of sums) expect(sha(path.join(dir, file))).toBe(h);
    expect(sums.has('catalog/partition_manifest.ndjson')).toBe(true);
    expect(sums.has('configs/jobs/demo.yml')).toBe(true);
    const info = JSON.parse(readFileSync(path.join(dir, 'backup.json'), 'utf8')) as { catalog: { kind: string; rows: Record<string, number>; migrations: { version: number }[] } };
    expect(info.catalog.kind).toBe(url ? 'server' : 'embedded');
    expect(info.catalog.rows.partition_manifest).toBe(1);
    expect(info.catalog.migrations.map((m) => m.version)).toEqual(readdirSync(path.join(process.cwd(), 'sql')).filter((f) => /^\d{3}_/.test(f)).map((f) => Number(f.slice(0, 3))));

    const restored = path.join(root, 'restored');
    const target = url ? await freshCatalog() : { url: undefined, drop: async () => {} };
    extraDrops.push(target.drop);
    const rr = await runMdw(['--home', restored, 'restore', dir, ...(target.url ? ['--database-url', target.url] : [])]);
    expect(rr.code).toBe(0);
    expect(rr.stderr).toContain('integrity clean in 1 series');
    expect(await lakeContent(path.join(restored, 'lake'))).toEqual(await lakeContent(path.join(home, 'lake')));
    const audit = await mdwAt(restored, target.url, 'audit', 'demo', '--fail-on', 'integrity', '--format', 'csv');
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/^demo,demo,1d,XNYS,1,746,/m);
    // A home that is not empty is refused, and left as it was.
    const again = await runMdw(['--home', restored, 'restore', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty');
    expect(existsSync(path.join(restored, 'lake', '.mdw-lake-id'))).toBe(true);
  });

  test('a backup taken while an ingest runs restores to the state before that ingest\'s batch or after it, never half, and passes audit --fail-on integrity', async () => {
    const to = path.join(root, 'during');
    const [ingest, backup] = await Promise.all([mdw('--lock-timeout', '300', 'ingest', 'minutes'), mdw('--lock-timeout', '300', 'backup', '--to', to)]);
    ok(ingest);
    ok(backup);
    const restored = path.join(root, 'restored-during');
    ok(await runMdw(['--home', restored, 'restore', to]));
    const audit = await mdwAt(restored, undefined, 'audit', '--fail-on', 'integrity', '--format', 'csv');
    expect(audit.code).toBe(0);
    const files = sourceFiles(path.join(restored, 'lake'), 'minutes');
    const { DuckSession } = await import('../../src/lake/duckdb.js');
    const duck = await DuckSession.open({ threads: 1 });
    try {
      const count = async (list: string[]) =>
        list.length === 0 ? 0 : Number((await duck.all<{ n: number }>(`SELECT count(*) AS n FROM read_parquet([${list.map((f) => `'${f}'`).join(', ')}])`))[0]!.n);
      const rows = await count(files);
      // The ingest loads its one input in one batch: all of its partitions, or none.
      expect([0, minuteRows]).toContain(rows);
      expect(files.length).toBe(rows === 0 ? 0 : symbols.length * 3);
      expect(await count(sourceFiles(path.join(home, 'lake'), 'minutes'))).toBe(minuteRows);
      // The demo's data, loaded before both, is there whole either way.
      expect(await count(sourceFiles(path.join(restored, 'lake'), 'demo'))).toBe(746);
    } finally {
      duck.close();
    }
  });

  test('restores into the other kind of catalog and back (embedded and a server when MDW_TEST_DATABASE_URL names one) with the same rows and data', async () => {
    const first = newestBackup(backups);
    const other = url ? { url: undefined, drop: async () => {} } : await freshCatalog();
    extraDrops.push(other.drop);
    const a = path.join(root, 'kind-a');
    ok(await runMdw(['--home', a, 'restore', first, ...(other.url ? ['--database-url', other.url] : [])]));
    const fromA = path.join(root, 'kind-a-backups');
    ok(await mdwAt(a, other.url, 'backup', '--to', fromA));
    const info = JSON.parse(readFileSync(path.join(newestBackup(fromA), 'backup.json'), 'utf8')) as { catalog: { kind: string; rows: Record<string, number> } };
    expect(info.catalog.kind).toBe(other.url ? 'server' : 'embedded');
    const back = url ? await freshCatalog() : { url: undefined, drop: async () => {} };
    extraDrops.push(back.drop);
    const b = path.join(root, 'kind-b');
    ok(await runMdw(['--home', b, 'restore', fromA, ...(back.url ? ['--database-url', back.url] : [])]));
    const infoFirst = JSON.parse(readFileSync(path.join(first, 'backup.json'), 'utf8')) as { catalog: { rows: Record<string, number> } };
    const fromB = path.join(root, 'kind-b-backups');
    ok(await mdwAt(b, back.url, 'backup', '--to', fromB));
    const infoB = JSON.parse(readFileSync(path.join(newestBackup(fromB), 'backup.json'), 'utf8')) as { catalog: { rows: Record<string, number> } };
    expect(infoB.catalog.rows).toEqual(infoFirst.catalog.rows);
    expect(info.catalog.rows).toEqual(infoFirst.catalog.rows);
    // The catalog's rows themselves, but the lake's place, which follows the warehouse.
    for (const t of ['partition_manifest', 'batch', 'lineage_item', 'quarantine_record', 'instrument', 'symbol_status']) {
      const lines = (dir: string) => readFileSync(path.join(dir, 'catalog', `${t}.ndjson`), 'utf8').split('\n').sort();
      expect(lines(newestBackup(fromB))).toEqual(lines(first));
    }
    expect(await lakeContent(path.join(b, 'lake'))).toEqual(await lakeContent(path.join(first, 'lake')));
    const audit = await mdwAt(b, back.url, 'audit', 'demo', '--fail-on', 'integrity', '--format', 'csv');
    expect(audit.code).toBe(0);
    // A restored warehouse goes on loading: the same input again changes nothing.
    const rerun = ok(await mdwAt(b, back.url, 'ingest', 'demo', '--format', 'json'));
    expect((JSON.parse(rerun.stdout) as { inputs_skipped: number }[])[0]!.inputs_skipped).toBe(3);
  });

  test('backup verify names every damaged and missing file of the backup and exits 1; a sound backup passes; the temporary home is removed', async () => {
    const to = path.join(root, 'verify');
    ok(await mdw('backup', '--to', to));
    const sound = await mdw('backup', 'verify', to);
    expect(sound.code).toBe(0);
    expect(sound.stderr).toContain('is sound');

    const dir = newestBackup(to);
    const partition = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').split('\n').map((l) => l.slice(66)).find((f) => f.startsWith('lake/ohlcv/source=minutes/'))!;
    const file = path.join(dir, partition);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    // A new file in its place: the backup's file is a hard link, and the warehouse's copy must stay sound.
    rmSync(file);
    writeFileSync(file, bytes);
    rmSync(path.join(dir, 'catalog', 'batch.ndjson'));
    const bad = await mdw('backup', 'verify', dir, '--format', 'json');
    expect(bad.code).toBe(1);
    const problems = JSON.parse(bad.stdout) as { file: string; problem: string }[];
    expect(problems).toEqual([
      { file: 'catalog/batch.ndjson', problem: 'missing', detail: expect.any(String) },
      { file: partition, problem: 'hash_mismatch', detail: expect.any(String) },
    ]);
    expect(bad.stderr).toContain(partition);
    expect(readdirSync(to).filter((n) => n.startsWith('.'))).toEqual([]);
    // The warehouse's own file was not touched.
    expect((await mdw('audit', '--fail-on', 'integrity')).code).toBe(0);
  });

  test('--keep removes the oldest backups and nothing else; a killed backup\'s temporary folder never counts and is removed', async () => {
    const to = path.join(root, 'keep');
    mkdirSync(path.join(to, 'mdw-backup-notes'), { recursive: true });
    mkdirSync(path.join(to, 'mdw-backup-20200101T000000Z'));
    writeFileSync(path.join(to, 'README'), 'ours\n');
    // Left by a backup that was killed (no process has this pid).
    mkdirSync(path.join(to, '.mdw-backup-mdw-backup-20260101T000000Z.999999999.tmp'));
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = ok(await mdw('backup', '--to', to, '--keep', '2', '--format', 'json'));
      made.push((JSON.parse(r.stdout) as { backup: string }[])[0]!.backup);
    }
    expect(backupDirs(to)).toEqual(['mdw-backup-20200101T000000Z', 'mdw-backup-notes', ...made.slice(1).map((d) => path.basename(d))].sort());
    expect(readdirSync(to).sort()).toEqual(['README', 'mdw-backup-20200101T000000Z', 'mdw-backup-notes', ...made.slice(1).map((d) => path.basename(d))].sort());
    // Only the newest two are backups: verify picks the newest.
    const v = await mdw('backup', 'verify', to);
    expect(v.code).toBe(0);
    expect(v.stderr).toContain(made[2]!);
  });
});
